"""The OpenAI Agents SDK tools against a real cofre, invoked as the SDK invokes them
(`await tool.on_invoke_tool(ToolContext(...), arguments_json)`), and the SDK's MCP route (MCPServerStreamableHttp)
connected to the running cofre's /mcp."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from adapter_cases import APPROVAL, DENIED, SMALL, action_descriptions, action_schemas, market_buy, read_output
from agents import FunctionTool
from agents.tool_context import ToolContext
from cofre_client import ACTION_NAMES, AsyncCofreClient, CofreClient
from cofre_client._tool_output import DATA_NOTICE
from cofre_client.openai_agents import mcp_server, tools

pytestmark = pytest.mark.anyio


async def by_name(client: AsyncCofreClient, **kw: Any) -> Dict[str, FunctionTool]:
    return {tool.name: tool for tool in await tools(client, **kw)}


async def invoke(tool: FunctionTool, arguments: Any) -> str:
    """As the SDK's run loop does: a ToolContext for the call and the model's arguments as a JSON string."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    context = ToolContext(context=None, tool_name=tool.name, tool_call_id="call_test", tool_arguments=raw)
    return str(await tool.on_invoke_tool(context, raw))


async def test_one_function_tool_per_action_with_cofres_names_descriptions_and_schemas(
    aclient: AsyncCofreClient,
) -> None:
    found = await by_name(aclient)
    document = await aclient.openapi()
    assert list(found) == list(ACTION_NAMES)
    descriptions, schemas = action_descriptions(document), action_schemas(document)
    for name, tool in found.items():
        assert tool.description == descriptions[name]
        assert tool.params_json_schema == schemas[name]
        assert tool.strict_json_schema is False  # see cofre_client/openai_agents.py for why


async def test_get_balance_executes(aclient: AsyncCofreClient) -> None:
    answer = read_output(await invoke((await by_name(aclient))["get_balance"], {"account": "paper"}))
    assert answer["status"] == "executed", answer
    assert set(answer["result"]["balance"]["assets"]) >= {"USDT", "BTC"}


async def test_a_small_order_executes(aclient: AsyncCofreClient, order_id: str) -> None:
    answer = read_output(await invoke((await by_name(aclient))["place_order"], market_buy(SMALL, order_id)))
    assert answer["status"] == "executed", answer
    assert answer["result"]["order"]["clientOrderId"] == order_id


async def test_a_denied_order_is_an_answer_naming_the_rule_and_reason(aclient: AsyncCofreClient, order_id: str) -> None:
    answer = read_output(await invoke((await by_name(aclient))["place_order"], market_buy(DENIED, order_id)))
    assert answer["status"] == "denied"
    assert answer["rule"]
    assert "500" in answer["reason"]


async def test_a_pending_order_is_an_answer_with_its_request_id(aclient: AsyncCofreClient, order_id: str) -> None:
    answer = read_output(await invoke((await by_name(aclient))["place_order"], market_buy(APPROVAL, order_id)))
    assert answer["status"] == "pending_approval", answer
    assert answer["requestId"].startswith("req_")
    assert answer["approval"]["payloadHash"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"account": "paper"', "not valid JSON"),
        ('["paper"]', "must be a JSON object"),
    ],
)
async def test_arguments_that_are_not_a_json_object_are_refused_without_calling_cofre(
    aclient: AsyncCofreClient, arguments: str, expected: str
) -> None:
    text = await invoke((await by_name(aclient))["get_balance"], arguments)
    assert expected in text
    assert "nothing was sent to cofre" in text


async def test_arguments_against_the_schema_are_refused_by_cofre_as_data(aclient: AsyncCofreClient) -> None:
    # strict_json_schema is off, so the SDK does not check the schema: cofre does, and says what is wrong.
    answer = read_output(await invoke((await by_name(aclient))["get_ticker"], {"account": "paper", "symbol": "btc"}))
    assert answer["error"]["code"] == "COFRE_INPUT_INVALID"
    assert "symbol" in answer["error"]["message"]
    assert answer["error"]["retryable"] is False


async def test_named_actions_need_no_listing_and_unknown_names_are_refused(aclient: AsyncCofreClient) -> None:
    assert list(await by_name(aclient, actions=["preview_order", "get_balance"])) == ["get_balance", "preview_order"]
    with pytest.raises(ValueError, match="unknown cofre action"):
        await tools(aclient, actions=["place_orders"])


async def test_the_mcp_route_lists_cofres_tools_and_calls_them(client: CofreClient, order_id: str) -> None:
    document = client.openapi()
    async with mcp_server(client) as server:
        listed = {tool.name: tool for tool in await server.list_tools()}
        assert set(listed) == set(ACTION_NAMES)
        assert {name: tool.description for name, tool in listed.items()} == action_descriptions(document)

        balance = await server.call_tool("get_balance", {"account": "paper"})
        assert not balance.isError
        text = balance.content[0].text  # type: ignore[union-attr]
        # The same first line as the function tools: what this package shows a model matches cofre's MCP server.
        assert text.split("\n", 1)[0] == DATA_NOTICE
        assert read_output(text)["status"] == "executed"

        denied = await server.call_tool("place_order", market_buy(DENIED, f"{order_id}-denied"))
        assert denied.isError
        answer = read_output(denied.content[0].text)  # type: ignore[union-attr]
        assert answer["status"] == "denied" and answer["rule"] and answer["reason"]

        pending = await server.call_tool("place_order", market_buy(APPROVAL, f"{order_id}-pending"))
        assert not pending.isError  # waiting for an operator is not a failure
        assert read_output(pending.content[0].text)["status"] == "pending_approval"  # type: ignore[union-attr]


def test_the_mcp_server_does_not_show_the_token(client: CofreClient) -> None:
    server = mcp_server(client)
    token = client.bearer_headers()["Authorization"].split(" ", 1)[1]
    assert server.name == "cofre"
    assert token not in repr(server) and token not in server.name


async def test_a_null_for_an_optional_field_is_left_out(aclient: AsyncCofreClient) -> None:
    # Models often send null for a field they mean to leave out; cofre's fields are never nullable.
    text = await invoke((await by_name(aclient))["get_open_orders"], {"account": "paper", "symbol": None})
    assert read_output(text)["status"] == "executed"


async def test_a_sync_client_is_refused_with_what_to_use(client: CofreClient) -> None:
    with pytest.raises(TypeError, match="needs an AsyncCofreClient.*not CofreClient"):
        await tools(client)  # type: ignore[arg-type]
