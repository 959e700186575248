"""The Python `kubernetes` client against Gantry: CRUD, paging, watch resume, conflicts and
validation errors, as the client sees them from upstream Kubernetes."""

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

NS = "default"


def configmap(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        data=data or {"k": "v"},
    )


def test_create_read_replace_patch_delete(api_client):
    core = client.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(NS, configmap("crud"))
    assert created.metadata.uid and created.metadata.resource_version

    read = core.read_namespaced_config_map("crud", NS)
    assert read.data == {"k": "v"}

    read.data = {"k": "replaced"}
    replaced = core.replace_namespaced_config_map("crud", NS, read)
    assert replaced.data == {"k": "replaced"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    # A dict body goes as a strategic merge patch; a list as a JSON patch.
    patched = core.patch_namespaced_config_map("crud", NS, {"data": {"extra": "1"}})
    assert patched.data == {"k": "replaced", "extra": "1"}
    patched = core.patch_namespaced_config_map(
        "crud", NS, [{"op": "remove", "path": "/data/extra"}]
    )
    assert patched.data == {"k": "replaced"}

    core.delete_namespaced_config_map("crud", NS)
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("crud", NS)
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["reason"] == "NotFound"


def test_list_pages_through_every_object(api_client):
    core = client.CoreV1Api(api_client)
    for i in range(7):
        core.create_namespaced_config_map(NS, configmap(f"page-{i}", labels={"set": "paging"}))
    names, token = [], None
    while True:
        page = core.list_namespaced_config_map(
            NS, label_selector="set=paging", limit=3, _continue=token
        )
        assert len(page.items) <= 3
        names += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"page-{i}" for i in range(7)]


def test_watch_resumes_from_a_resource_version(api_client):
    core = client.CoreV1Api(api_client)
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, configmap("watched"))
    core.patch_namespaced_config_map("watched", NS, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("watched", NS)
    seen = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map,
        NS,
        resource_version=start,
        field_selector="metadata.name=watched",
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            break
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_a_stale_update_is_a_409_conflict(api_client):
    core = client.CoreV1Api(api_client)
    first = core.create_namespaced_config_map(NS, configmap("stale"))
    core.patch_namespaced_config_map("stale", NS, {"data": {"k": "newer"}})
    first.data = {"k": "older"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("stale", NS, first)
    assert conflict.value.status == 409
    status = json.loads(conflict.value.body)
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


def test_an_invalid_object_is_a_422_with_causes(api_client):
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_config_map(NS, configmap("Not_Valid"))
    assert invalid.value.status == 422
    status = json.loads(invalid.value.body)
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as listed:
        core.list_namespaced_config_map(NS, label_selector="a in (")
    assert listed.value.status == 400
