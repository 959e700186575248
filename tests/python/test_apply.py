"""Patches and server-side apply through the Python `kubernetes` client: each patch type by
its content type, field managers recorded in `managedFields`, a conflicting apply refused with
upstream's 409, `force` taking the field over. The typed API chooses the patch type from the
body (strategic merge for a dict, JSON patch for a list); the dynamic client sends merge
patches and server-side applies."""

import json

import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

NS = "default"


def deployment(name, image, replicas=1):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def managers(obj):
    return sorted((e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"])


def deployments(api_client):
    return dynamic.DynamicClient(api_client).resources.get(api_version="apps/v1", kind="Deployment")


def test_apply_creates_then_conflicts_with_another_manager_unless_forced(api_client):
    resource = deployments(api_client)
    created = resource.server_side_apply(body=deployment("ssa", "busybox:1", 2), field_manager="team-a").to_dict()
    assert created["spec"]["replicas"] == 2
    assert managers(created) == [("team-a", "Apply")]

    # Another manager changing the same field: 409 with the field in the causes.
    with pytest.raises(ApiException) as refused:
        resource.server_side_apply(body=deployment("ssa", "busybox:1", 5), field_manager="team-b")
    assert refused.value.status == 409
    status = json.loads(refused.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "team-a": .spec.replicas'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "team-a"', "field": ".spec.replicas"}
    ]

    forced = resource.server_side_apply(
        body=deployment("ssa", "busybox:1", 5), field_manager="team-b", force_conflicts=True
    ).to_dict()
    assert forced["spec"]["replicas"] == 5
    assert managers(forced) == [("team-a", "Apply"), ("team-b", "Apply")]

    # An apply without a field manager is refused as upstream refuses it.
    with pytest.raises(ApiException) as unnamed:
        resource.server_side_apply(body=deployment("ssa", "busybox:1"))
    assert unnamed.value.status == 422
    message = json.loads(unnamed.value.body)["message"]
    assert "fieldManager: Required value: is required for apply patch" in message


def test_applying_less_removes_what_the_manager_stopped_applying(api_client):
    configmaps = dynamic.DynamicClient(api_client).resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn", "namespace": NS},
            "data": {"a": "1", "b": "2"}}
    first = configmaps.server_side_apply(body=body, field_manager="dyn")
    assert first.data.b == "2"
    body["data"] = {"a": "1"}
    second = configmaps.server_side_apply(body=body, field_manager="dyn")
    assert second.to_dict()["data"] == {"a": "1"}


def test_each_patch_type_does_what_its_content_type_says(api_client):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(NS, deployment("patched", "busybox:1"))
    sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:9"}]}}}}

    # Strategic merge (the typed API's choice for a dict): containers merge by name.
    merged = apps.patch_namespaced_deployment("patched", NS, sidecar)
    assert [c.name for c in merged.spec.template.spec.containers] == ["main", "side"]
    # JSON merge patch: the list is replaced.
    replaced = deployments(api_client).patch(
        name="patched", namespace=NS, body=sidecar, content_type="application/merge-patch+json"
    )
    assert [c.name for c in replaced.spec.template.spec.containers] == ["side"]
    # JSON patch (a list body).
    scaled = apps.patch_namespaced_deployment(
        "patched", NS, [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    )
    assert scaled.spec.replicas == 3
    # Every write was recorded under the client's user agent (`OpenAPI-Generator/<v>/python`,
    # up to its first slash), in one entry (the controller manager has its own, for status).
    mine = [e for e in scaled.metadata.managed_fields if e.manager == "OpenAPI-Generator"]
    assert [e.operation for e in mine] == ["Update"]
    assert "f:replicas" in mine[0].fields_v1["f:spec"]
    assert "k:{\"name\":\"side\"}" in mine[0].fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]
