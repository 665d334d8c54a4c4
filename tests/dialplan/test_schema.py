"""dialplans/schema.json: generated from the model, current, and accepting the shipped files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from callbot.dialplan.schema import SCHEMA_PATH, dialplan_schema, main, schema_text
from tests.dialplan.conftest import DIALPLANS, MINIMAL_YAML
from tests.dialplan.flows import FLOWS_YAML


def _jsonable(data: Any) -> Any:
    """YAML dates as the text written, as editors' YAML servers read them."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_jsonable(v) for v in data]
    return data.isoformat() if isinstance(data, dt.date) else data


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = dialplan_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "dialplans/schema.json is stale: run `python -m callbot.dialplan.schema`"
    )


@pytest.mark.parametrize("path", sorted(DIALPLANS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_dialplans_validate(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    data = _jsonable(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert [e.message for e in validator.iter_errors(data)] == []


def test_full_featured_dialplan_validates(validator: jsonschema.Draft202012Validator) -> None:
    data = _jsonable(yaml.safe_load(FLOWS_YAML))
    assert [e.message for e in validator.iter_errors(data)] == []


def test_schema_refuses_unknown_fields(validator: jsonschema.Draft202012Validator) -> None:
    data = yaml.safe_load(MINIMAL_YAML + "greting: typo\n")
    assert not validator.is_valid(data)
    data = yaml.safe_load(MINIMAL_YAML)
    data["intents"][0]["slots"] = [{"name": "x", "type": "colour", "prompt": "?"}]
    assert not validator.is_valid(data)


def test_main_writes_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert main([str(target)]) == 0
    assert json.loads(target.read_text())["title"] == "callbot dialplan"
