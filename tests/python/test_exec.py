"""The Python client's `stream` (exec over WebSocket, v4.channel.k8s.io) against a real node."""

import time

from kubernetes import client
from kubernetes.stream import stream

from conftest import NODE


def running_pod(core, name):
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": name},
            "spec": {
                "nodeName": NODE,
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}
                ],
            },
        },
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        pod = core.read_namespaced_pod(name, "default")
        if pod.status.phase == "Running":
            return pod
        time.sleep(0.2)
    raise AssertionError(f"pod {name} never ran: {pod.status}")


def test_exec_returns_output_and_the_exit_code(node_client):
    core = client.CoreV1Api(node_client)
    running_pod(core, "py-exec")
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "py-exec",
        "default",
        command=["sh", "-c", "echo py-$((6*7))"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert out == "py-42\n"

    session = stream(
        core.connect_get_namespaced_pod_exec,
        "py-exec",
        "default",
        command=["sh", "-c", "read x; echo got $x; exit 4"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    session.write_stdin("abc\n")
    session.run_forever(timeout=10)
    assert session.read_stdout() == "got abc\n"
    assert session.returncode == 4
