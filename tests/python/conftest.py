"""Starts `gantry server` (the binary built by scripts/test) for the Python client tests."""

import os
import subprocess
import tempfile
import time

import pytest
from kubernetes import client, config


def start_server(extra):
    """Starts `gantry server <extra>`; returns the process and an API client for it."""
    binary = os.environ.get("GANTRY_BINARY", "target/debug/gantry")
    data_dir = tempfile.mkdtemp(prefix="gantry-py-")
    server = subprocess.Popen(
        [binary, "server", "--data-dir", data_dir, "--api-listen", "127.0.0.1:0", *extra],
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
    return server, client.ApiClient(configuration)


def stop_server(server):
    server.terminate()
    assert server.wait(timeout=60) == 0


@pytest.fixture(scope="session")
def api_client():
    """The control plane alone."""
    server, api = start_server(["--disable-agent", "--disable-scheduler"])
    yield api
    stop_server(server)


NODE = "py-node"


@pytest.fixture(scope="session")
def node_client():
    """A server with its node (its own containerd, CNI bridge and images), once Ready."""
    images = os.environ.get("GANTRY_IMAGES", "target/images")
    server, api = start_server(
        [
            "--node-name", NODE,
            "--cni-bridge", "gtpy0",
            "--pod-cidr", "10.42.104.0/24",
            "--kubelet-port", "0",
            "--images-dir", images,
        ]
    )
    core = client.CoreV1Api(api)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            nodes = core.list_node().items
            if any(c.type == "Ready" and c.status == "True" for n in nodes for c in ((n.status and n.status.conditions) or [])):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the node never became Ready")
    except BaseException:
        # A fixture that fails here never reaches its teardown: stop the server (and with it
        # its containerd) now rather than leave it running.
        stop_server(server)
        raise
    yield api
    for pod in core.list_namespaced_pod("default").items:
        # Graceful: the pod lingers until its node has stopped its containers.
        core.delete_namespaced_pod(pod.metadata.name, "default", grace_period_seconds=1)
    deadline = time.time() + 60
    while core.list_namespaced_pod("default").items and time.time() < deadline:
        time.sleep(0.2)
    stop_server(server)
