"""JSON Schemas of the contracts, so any Kafka client (kcat, another language) can publish."""

from __future__ import annotations

import json
from pathlib import Path

from shared.contracts import TOPICS, DeadLetter

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def topic_schemas() -> dict[str, dict[str, object]]:
    """File name → JSON Schema, one per topic plus the dead-letter envelope."""
    models = {**TOPICS, "dead-letter": DeadLetter}
    schemas = {}
    for topic, model in models.items():
        schema = {"$schema": SCHEMA_DIALECT, "$id": f"phoenix/{topic}.schema.json", **model.model_json_schema()}
        schema["description"] = f"Messages on `{topic}`" + (" (any `<topic>.dlq`)" if topic == "dead-letter" else "") + "."
        schemas[f"{topic}.schema.json"] = schema
    return schemas


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in topic_schemas().items():
        path = directory / name
        path.write_text(render(schema))
        written.append(path)
    return written
