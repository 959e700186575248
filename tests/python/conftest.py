"""Starts `gantry server` (the binary built by scripts/test) for the Python client tests."""

import os
import subprocess
import tempfile

import pytest
from kubernetes import client, config


@pytest.fixture(scope="session")
def api_client():
    binary = os.environ.get("GANTRY_BINARY", "target/debug/gantry")
    data_dir = tempfile.mkdtemp(prefix="gantry-py-")
    server = subprocess.Popen(
        [binary, "server", "--data-dir", data_dir, "--api-listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    kubeconfig = None
    for line in server.stdout:
        if line.startswith("export KUBECONFIG="):
            kubeconfig = line.split("=", 1)[1].strip()
            break
    assert kubeconfig, "gantry server did not print its kubeconfig"
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    yield client.ApiClient(configuration)
    server.terminate()
    assert server.wait(timeout=30) == 0
