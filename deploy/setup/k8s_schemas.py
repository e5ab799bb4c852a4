"""Kubernetes OpenAPI v3 and CRD schemas → JSON Schema files in kubeconform's layout, offline.

kubeconform looks a manifest's schema up by kind and apiVersion: with
`-schema-location DIR -kubernetes-version X.Y.Z` it reads
`DIR/vX.Y.Z-standalone-strict/<kind><suffix>.json` (suffix `-v1` for the core group, `-apps-v1`
for apps/v1, `-keda-v1alpha1` for keda.sh/v1alpha1), the layout of the published
kubernetes-json-schema sets. This writes that layout from sources taken from Go modules:

- `--openapi`: the folder `api/openapi-spec/v3` of `k8s.io/kubernetes` (one document per
  group/version; every kind is a component schema with `x-kubernetes-group-version-kind`);
- `--crd`: CustomResourceDefinition files (e.g. KEDA's `keda.sh_scaledobjects.yaml`), whose
  `openAPIV3Schema` per served version becomes a schema.

"Strict" as `kubeconform -strict` means it: every object with declared properties gets
`additionalProperties: false` (unless it preserves unknown fields), so a misspelt field is an
error. A field may be null, as the API server accepts. References become `#/definitions/...`
inside each standalone file, so recursive types need no inlining.

    python deploy/setup/k8s_schemas.py --openapi DIR --crd FILE --out DIR --kubernetes-version 1.36.3
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

COMPONENT_REF = "#/components/schemas/"
DEFINITION_REF = "#/definitions/"
Schema = dict[str, Any]


def file_name(group: str, version: str, kind: str) -> str:
    """kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` for a group/version/kind."""
    suffix = f"-{group.split('.')[0].lower()}-{version.lower()}" if group else f"-{version.lower()}"
    return f"{kind.lower()}{suffix}.json"


def children(schema: Schema) -> Iterator[Schema]:
    """The subschemas of a schema (not the names of its properties)."""
    for key in ("properties", "patternProperties", "definitions"):
        yield from (value for value in schema.get(key, {}).values() if isinstance(value, dict))
    for key in ("items", "additionalProperties", "not", "additionalItems"):
        if isinstance(schema.get(key), dict):
            yield schema[key]
    for key in ("allOf", "anyOf", "oneOf"):
        yield from (value for value in schema.get(key, []) if isinstance(value, dict))


def strict(schema: Schema) -> Schema:
    """The schema made strict and null-tolerant, in place (see the module docstring)."""
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        for key in ("type", "format"):
            schema.pop(key, None)
        schema.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("format") == "int-or-string":
        del schema["format"]
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith(COMPONENT_REF):
        schema["$ref"] = DEFINITION_REF + schema["$ref"].removeprefix(COMPONENT_REF)
    for child in children(schema):
        strict(child)
    return schema


def references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith(COMPONENT_REF):
            yield reference.removeprefix(COMPONENT_REF)
        for key, value in schema.items():
            if key != "$ref" or not isinstance(value, str):
                yield from references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from references(value)


def standalone(name: str, components: dict[str, Schema]) -> Schema:
    """The component `name` with every component it reaches, as one strict document."""
    reached, pending = {}, [name]
    while pending:
        current = pending.pop()
        if current in reached:
            continue
        reached[current] = components[current]
        pending.extend(references(components[current]))
    document = json.loads(json.dumps(components[name]))
    document["definitions"] = json.loads(json.dumps({key: reached[key] for key in sorted(reached) if key != name}))
    document = strict(document)
    document["type"] = "object"  # the manifest itself is never null
    return document


def openapi_schemas(folder: Path) -> Iterator[tuple[str, Schema]]:
    components: dict[str, Schema] = {}
    for path in sorted(folder.glob("*.json")):
        components.update(json.loads(path.read_text()).get("components", {}).get("schemas", {}))
    if not components:
        raise SystemExit(f"k8s_schemas: no OpenAPI v3 component schemas under {folder}")
    for name, schema in components.items():
        kinds = schema.get("x-kubernetes-group-version-kind", [])
        if len(kinds) != 1:  # list-less helpers, or options shared by every group (DeleteOptions)
            continue
        (gvk,) = kinds
        yield file_name(gvk["group"], gvk["version"], gvk["kind"]), standalone(name, components)


def crd_schemas(path: Path) -> Iterator[tuple[str, Schema]]:
    for crd in yaml.safe_load_all(path.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema is None or not version.get("served", True):
                continue
            document = strict(json.loads(json.dumps(schema)))
            document["type"] = "object"
            yield file_name(spec["group"], version["name"], spec["names"]["kind"]), document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openapi", type=Path, required=True, help="k8s.io/kubernetes api/openapi-spec/v3")
    parser.add_argument("--crd", type=Path, action="append", default=[], help="a CRD YAML file (repeatable)")
    parser.add_argument("--kubernetes-version", required=True, help="e.g. 1.36.3 (names the output folder)")
    parser.add_argument("--out", type=Path, required=True, help="schema location given to kubeconform")
    args = parser.parse_args(argv)

    target = args.out / f"v{args.kubernetes_version.removeprefix('v')}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    sources = [openapi_schemas(args.openapi), *(crd_schemas(path) for path in args.crd)]
    for source in sources:
        for name, document in source:
            (target / name).write_text(json.dumps(document, separators=(",", ":")))
            written += 1
    print(f"k8s_schemas: wrote {written} schemas into {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
