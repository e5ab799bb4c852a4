"""The JSON Schemas in docs/schemas are current, and examples in the README validate."""

import json
import re
from pathlib import Path

from shared.contracts import TOPICS, DateRequested
from shared.contracts.schemas import render, topic_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    for name, schema in topic_schemas().items():
        path = ROOT / "docs" / "schemas" / name
        assert path.is_file(), f"{path} is missing: run `make schemas`"
        assert path.read_text() == render(schema), f"{path} is stale: run `make schemas`"


def test_one_schema_per_topic_and_the_dead_letter_envelope() -> None:
    assert set(topic_schemas()) == {f"{t}.schema.json" for t in [*TOPICS, "dead-letter"]}


def test_the_readme_request_example_is_a_valid_date_request() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```json\n(\{.*?\"instrument_mode\".*?\})\n```", readme, re.S)
    assert match, "README has a JSON date-request example"
    DateRequested.model_validate(json.loads(match.group(1)))
