"""The JSON Schema of dialplan files, for editors (``dialplans/schema.json``).

Generated from the pydantic model, so it cannot drift from what the loader accepts
in shape; cross-field rules (known template variables, unique ids...) are the
loader's alone. ``python -m callbot.dialplan.schema`` rewrites the file; a test
fails when the committed file is out of date.

Editors pick it up with a first line in each dialplan::

    # yaml-language-server: $schema=schema.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from callbot.dialplan.model import Dialplan

SCHEMA_ID = "https://callbot.invalid/dialplan.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "dialplans" / "schema.json"


def dialplan_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a dialplan file."""
    schema = Dialplan.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "callbot dialplan",
        "description": "A callbot dialplan file (YAML); see dialplans/README.md.",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    """The schema as written to ``dialplans/schema.json``."""
    return json.dumps(dialplan_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema to the given path (default ``dialplans/schema.json``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else SCHEMA_PATH
    path.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
