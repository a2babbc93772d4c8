"""Every tool's model-facing schema survives the personal-data masking applied before a model sees it."""

from __future__ import annotations

import json

from langchain_core.utils.function_calling import convert_to_openai_tool

from graphs.llm.redact import Redactor
from graphs.llm.understand import masked_schemas
from tests.graphs.understanding.support import tool_specs
from tools.catalog import as_langchain_tools
from tools.tool_spec import ToolContext


def test_each_tool_schema_is_still_json_after_masking() -> None:
    """A long digit run in a schema (a bound such as 1000000000) would be masked as an account number and
    break the JSON, so the model would never be asked at all."""
    tools = as_langchain_tools(tool_specs(), lambda: ToolContext(requester="bob.martin@example.com"))
    for tool in tools:
        schema_json = json.dumps([convert_to_openai_tool(tool)])
        masked = masked_schemas(schema_json, Redactor(["Maya Patel"], ()))
        assert [s["function"]["name"] for s in masked] == [tool.name]
        assert (
            masked[0]["function"]["parameters"]["properties"].keys()
            == tool.args_schema.model_json_schema()["properties"].keys()
        )


def test_a_long_number_in_a_schema_is_kept_and_a_name_in_a_description_is_masked() -> None:
    schema = [
        {
            "type": "function",
            "function": {
                "name": "hold_payment",
                "description": "Hold an invoice, e.g. for Maya Patel's vendor.",
                "parameters": {"properties": {"amount": {"type": "number", "maximum": 1000000000}}},
            },
        }
    ]
    [masked] = masked_schemas(json.dumps(schema), Redactor(["Maya Patel"], ()))
    assert masked["function"]["parameters"]["properties"]["amount"]["maximum"] == 1000000000
    assert "Maya" not in masked["function"]["description"] and "<" in masked["function"]["description"]
