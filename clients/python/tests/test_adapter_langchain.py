"""The LangChain tools against a real cofre, invoked as LangChain invokes them (`tool.invoke({...})`,
`await tool.ainvoke({...})`), and langchain-mcp-adapters connected to the running cofre's /mcp."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from adapter_cases import APPROVAL, DENIED, SMALL, action_descriptions, market_buy, read_output
from cofre_client import ACTION_NAMES, AsyncCofreClient, CofreClient
from cofre_client.langchain import atools, mcp_client, mcp_connection, tools
from cofre_stack import CofreStack
from langchain_core.tools import BaseTool
from pydantic import ValidationError


def by_name(client: CofreClient, **kw: Any) -> Dict[str, BaseTool]:
    return {tool.name: tool for tool in tools(client, **kw)}


def test_one_tool_per_action_with_cofres_names_descriptions_and_fields(client: CofreClient) -> None:
    found = by_name(client)
    document = client.openapi()
    assert list(found) == list(ACTION_NAMES)
    descriptions = action_descriptions(document)
    for name, tool in found.items():
        assert tool.description == descriptions[name]
    # What LangChain sends the model: cofre's fields, with their descriptions and constraints.
    schema = found["place_order"].tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    live = document["paths"]["/v1/actions/place_order"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == set(live["properties"])
    assert set(schema["required"]) == set(live["required"])
    assert schema["properties"]["symbol"]["pattern"] == live["properties"]["symbol"]["pattern"]
    assert schema["properties"]["symbol"]["description"] == live["properties"]["symbol"]["description"]


def test_get_balance_executes(client: CofreClient) -> None:
    answer = read_output(by_name(client)["get_balance"].invoke({"account": "paper"}))
    assert answer["status"] == "executed", answer
    assert set(answer["result"]["balance"]["assets"]) >= {"USDT", "BTC"}


def test_a_limit_order_with_a_numeric_price_executes_and_an_optional_field_left_out_is_not_sent(
    client: CofreClient, order_id: str
) -> None:
    found = by_name(client)
    order = {**market_buy(SMALL, order_id), "type": "limit", "price": 59000}
    answer = read_output(found["place_order"].invoke(order))
    assert answer["status"] == "executed", answer
    # get_open_orders without its optional symbol: cofre would refuse a null.
    assert read_output(found["get_open_orders"].invoke({"account": "paper"}))["status"] == "executed"


def test_a_denied_order_is_an_answer_naming_the_rule_and_reason(client: CofreClient, order_id: str) -> None:
    answer = read_output(by_name(client)["place_order"].invoke(market_buy(DENIED, order_id)))
    assert answer["status"] == "denied"
    assert answer["rule"]
    assert "500" in answer["reason"]


def test_a_pending_order_is_an_answer(client: CofreClient, order_id: str) -> None:
    answer = read_output(by_name(client)["place_order"].invoke(market_buy(APPROVAL, order_id)))
    assert answer["status"] == "pending_approval", answer
    assert answer["requestId"].startswith("req_")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"account": "Paper!"}, "account"),  # pattern
        ({}, "account"),  # required
        ({"account": "paper", "currency": "USDT"}, "currency"),  # additionalProperties: false
    ],
)
def test_invalid_arguments_are_rejected_by_the_tools_schema(client: CofreClient, args: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        by_name(client)["get_balance"].invoke(args)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_a_sync_tool_also_runs_under_ainvoke(client: CofreClient) -> None:
    import anyio

    answer = anyio.run(by_name(client)["get_balance"].ainvoke, {"account": "paper"})
    assert read_output(answer)["status"] == "executed"


@pytest.mark.anyio
async def test_async_tools_execute_deny_and_wait(aclient: AsyncCofreClient, order_id: str) -> None:
    found = {tool.name: tool for tool in await atools(aclient)}
    assert list(found) == list(ACTION_NAMES)
    assert read_output(await found["get_balance"].ainvoke({"account": "paper"}))["status"] == "executed"
    denied = read_output(await found["place_order"].ainvoke(market_buy(DENIED, order_id)))
    assert denied["status"] == "denied" and denied["reason"]
    with pytest.raises(ValidationError):
        await found["get_ticker"].ainvoke({"account": "paper", "symbol": "BTCUSDT"})


def test_only_the_agents_own_actions_become_tools(cofre: CofreStack) -> None:
    token_file = cofre.add_agent("py-lc-balance-only", policy="balance-only")
    with CofreClient(cofre.url, token_file=token_file) as balance_only:
        assert list(by_name(balance_only)) == ["get_balance", "get_request"]


@pytest.mark.anyio
async def test_langchain_mcp_adapters_lists_cofres_tools_and_calls_them(client: CofreClient, order_id: str) -> None:
    listed = {tool.name: tool for tool in await mcp_client(client).get_tools()}
    assert set(listed) == set(ACTION_NAMES)
    assert {name: tool.description for name, tool in listed.items()} == action_descriptions(client.openapi())

    balance = await listed["get_balance"].ainvoke({"account": "paper"})
    assert read_output(mcp_text(balance))["status"] == "executed"
    # A denial is an MCP tool error (isError); langchain-mcp-adapters hands its text to the model as the output.
    denied = read_output(mcp_text(await listed["place_order"].ainvoke(market_buy(DENIED, order_id))))
    assert denied["status"] == "denied" and denied["rule"] and denied["reason"]


def test_the_mcp_connection_is_streamable_http_to_cofres_mcp(client: CofreClient) -> None:
    connection = mcp_connection(client)
    assert connection["transport"] == "streamable_http"
    assert connection["url"] == f"{client.base_url}/mcp"
    assert connection["headers"] == client.bearer_headers()


def mcp_text(output: Any) -> str:
    """The text of an MCP tool's output as langchain-mcp-adapters returns it (a string, or content blocks)."""
    if isinstance(output, str):
        return output
    texts = [block["text"] for block in output if isinstance(block, dict) and block.get("type") == "text"]
    assert len(texts) == 1, output
    return str(texts[0])


@pytest.mark.anyio
async def test_the_wrong_kind_of_client_is_refused_with_what_to_use(
    client: CofreClient, aclient: AsyncCofreClient
) -> None:
    with pytest.raises(TypeError, match=r"needs a CofreClient \(for an AsyncCofreClient, await atools"):
        tools(aclient)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"needs an AsyncCofreClient \(for a CofreClient, use tools"):
        await atools(client)  # type: ignore[arg-type]


def test_a_tool_call_as_langgraphs_tool_node_sends_it_gets_a_tool_message(client: CofreClient, order_id: str) -> None:
    from langchain_core.messages import ToolMessage

    call = {"type": "tool_call", "id": "call_7", "name": "place_order", "args": market_buy(DENIED, order_id)}
    message = by_name(client)["place_order"].invoke(call)
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "call_7"
    assert read_output(message.content)["status"] == "denied"


def test_an_unreachable_cofre_is_raised_not_shown_to_the_model(cofre: CofreStack) -> None:
    from cofre_client import CofreTransportError
    from cofre_stack import free_port

    with CofreClient(f"http://127.0.0.1:{free_port()}", token_file=cofre.token_file) as nowhere:
        (get_balance,) = tools(nowhere, actions=["get_balance"])  # named: nothing is asked while building
        with pytest.raises(CofreTransportError) as caught:
            get_balance.invoke({"account": "paper"})
    assert caught.value.code == "COFRE_CLIENT_UNREACHABLE"
