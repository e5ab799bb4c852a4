"""deploy/setup/k8s_schemas.py: OpenAPI v3 components and CRDs → kubeconform's strict layout."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.integration.deploy.monitoring import REPO

_spec = importlib.util.spec_from_file_location("k8s_schemas", REPO / "deploy" / "setup" / "k8s_schemas.py")
assert _spec and _spec.loader
k8s_schemas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(k8s_schemas)


@pytest.mark.parametrize(
    ("group", "version", "kind", "name"),
    [
        ("", "v1", "ConfigMap", "configmap-v1.json"),
        ("apps", "v1", "Deployment", "deployment-apps-v1.json"),
        ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudget-policy-v1.json"),
        ("rbac.authorization.k8s.io", "v1", "Role", "role-rbac-v1.json"),
        ("keda.sh", "v1alpha1", "ScaledObject", "scaledobject-keda-v1alpha1.json"),
    ],
)
def test_file_names_follow_kubeconforms_kind_suffix(group: str, version: str, kind: str, name: str) -> None:
    assert k8s_schemas.file_name(group, version, kind) == name


def test_strict_closes_objects_but_not_free_form_ones() -> None:
    schema = k8s_schemas.strict(
        {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": True, "type": "string"},
                # A property named like a keyword is a property, not a keyword.
                "properties": {"type": "string"},
            },
        }
    )
    assert schema["additionalProperties"] is False
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["replicas"]["type"] == ["integer", "null"]
    assert "additionalProperties" not in schema["properties"]["free"]
    assert schema["properties"]["labels"]["additionalProperties"] == {"type": ["string", "null"]}
    assert schema["properties"]["port"]["anyOf"] == [{"type": ["integer", "null"]}, {"type": ["string", "null"]}]
    assert "type" not in schema["properties"]["port"]
    assert schema["properties"]["properties"] == {"type": ["string", "null"]}


def test_standalone_documents_keep_recursive_references_as_definitions() -> None:
    components = {
        "a.Thing": {
            "type": "object",
            "properties": {"child": {"allOf": [{"$ref": "#/components/schemas/a.Node"}]}},
        },
        "a.Node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/components/schemas/a.Node"}, "name": {"type": "string"}},
        },
        "a.Unused": {"type": "string"},
    }
    document = k8s_schemas.standalone("a.Thing", components)
    assert document["type"] == "object"
    assert set(document["definitions"]) == {"a.Node"}
    assert document["properties"]["child"]["allOf"] == [{"$ref": "#/definitions/a.Node"}]
    node = document["definitions"]["a.Node"]
    assert node["properties"]["next"] == {"$ref": "#/definitions/a.Node"}
    assert node["additionalProperties"] is False
    assert components["a.Node"]["properties"]["next"] == {"$ref": "#/components/schemas/a.Node"}  # not mutated


def test_every_served_crd_version_becomes_a_schema(tmp_path: Path) -> None:
    crd = tmp_path / "crd.yaml"
    crd.write_text(
        """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.org
  names: {kind: Widget}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
    - name: v0
      served: false
      schema: {openAPIV3Schema: {type: object}}
"""
    )
    (name, document), *rest = list(k8s_schemas.crd_schemas(crd))
    assert not rest
    assert name == "widget-example-v1.json"
    assert document["type"] == "object"
    assert document["properties"]["spec"]["additionalProperties"] is False
    json.dumps(document)
