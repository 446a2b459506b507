"""The JSON Schema of a declaration, for editors (YAML language server) and other tools.

Generated from the pydantic models, so it cannot drift from what ``smgitops validate``
accepts: field names are the YAML (camelCase) ones, with descriptions, defaults, examples
and the same patterns. A few rules are the loader's alone (duplicate keys, aliases, the
content of ``file:line`` messages); the schema covers everything about a single value.
"""

from __future__ import annotations

from typing import Any, Final

from smgitops.declaration.models import Declaration

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID: Final = "urn:smgitops:schema:endpoint:v1"
TITLE: Final = "smgitops endpoint declaration (smgitops/v1)"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one declaration file, by YAML (alias) names."""
    generated = Declaration.model_json_schema(by_alias=True, mode="validation")
    generated.pop("title", None)
    definitions = generated.pop("$defs", {})
    # Reading order for people: what it is, then its fields, then the nested definitions.
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        **generated,
        "$defs": definitions,
    }
