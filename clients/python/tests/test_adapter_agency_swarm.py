"""The Agency Swarm tools against a real cofre, invoked as Agency Swarm invokes them: the tool class instantiated
with the model's arguments (pydantic validates them), then `run()` (agency_swarm/threads/thread.py, execute_tool)."""

from __future__ import annotations

import pytest
from adapter_cases import APPROVAL, DENIED, SMALL, action_descriptions, action_schemas, market_buy, read_output
from agency_swarm.tools import BaseTool
from cofre_client import ACTION_NAMES, CofreClient, CofreUnauthenticated
from cofre_client.agency_swarm import tools
from cofre_stack import CofreStack
from pydantic import ValidationError


def by_name(client: CofreClient, **kw: object) -> dict:
    return {tool.__name__: tool for tool in tools(client, **kw)}  # type: ignore[arg-type]


def test_one_tool_class_per_action_with_cofres_names_descriptions_and_schemas(client: CofreClient) -> None:
    found = by_name(client)
    document = client.openapi()
    assert list(found) == list(ACTION_NAMES)  # the harness's agent may use every action
    descriptions, schemas = action_descriptions(document), action_schemas(document)
    for name, tool in found.items():
        assert issubclass(tool, BaseTool)
        assert tool.__doc__ == descriptions[name]
        # What Agency Swarm sends the model as the function definition: cofre's name, description and schema.
        assert tool.openai_schema == {"name": name, "description": descriptions[name], "parameters": schemas[name]}


def test_get_balance_executes(client: CofreClient) -> None:
    answer = read_output(by_name(client)["get_balance"](account="paper").run())
    assert answer["status"] == "executed", answer
    assert set(answer["result"]["balance"]["assets"]) >= {"USDT", "BTC"}


def test_a_small_order_executes_and_repeating_it_replays_the_first_answer(client: CofreClient, order_id: str) -> None:
    place_order = by_name(client)["place_order"]
    first = read_output(place_order(**market_buy(SMALL, order_id)).run())
    assert first["status"] == "executed", first
    again = read_output(place_order(**market_buy(SMALL, order_id)).run())
    assert again["requestId"] == first["requestId"]
    assert again["replayed"] is True


def test_a_denied_order_is_an_answer_naming_the_rule_and_reason(client: CofreClient, order_id: str) -> None:
    answer = read_output(by_name(client)["place_order"](**market_buy(DENIED, order_id)).run())
    assert answer["status"] == "denied"
    assert answer["rule"]
    assert "500" in answer["reason"]  # says what would be allowed


def test_a_pending_order_is_an_answer_and_get_request_shows_it_once_approved(
    client: CofreClient, cofre: CofreStack, order_id: str
) -> None:
    found = by_name(client)
    pending = read_output(found["place_order"](**market_buy(APPROVAL, order_id)).run())
    assert pending["status"] == "pending_approval", pending
    assert pending["approval"]["expiresAt"]
    cofre.cli("approval", "approve", pending["requestId"])
    stored = read_output(found["get_request"](requestId=pending["requestId"]).run())
    assert stored["requestId"] == pending["requestId"]
    assert stored["status"] == "executed", stored


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"account": "paper", "symbol": "btc-usdt"}, "symbol"),  # pattern
        ({"account": "paper"}, "symbol"),  # required
        ({"account": "paper", "symbol": "BTC/USDT", "venue": "x"}, "venue"),  # additionalProperties: false
    ],
)
def test_invalid_arguments_are_rejected_by_the_tools_schema_before_cofre_is_asked(
    client: CofreClient, args: dict, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        by_name(client)["get_ticker"](**args)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_input_cofre_refuses_beyond_the_schema_is_shown_as_cofres_error(client: CofreClient) -> None:
    # "exactly one of orderId and clientOrderId" is a rule JSON Schema does not carry: cofre answers it.
    answer = read_output(by_name(client)["get_order"](account="paper", symbol="BTC/USDT").run())
    assert answer["error"]["code"] == "COFRE_INPUT_INVALID"
    assert "exactly one of orderId and clientOrderId" in answer["error"]["message"]


def test_only_the_agents_own_actions_become_tools(cofre: CofreStack) -> None:
    token_file = cofre.add_agent("py-swarm-balance-only", policy="balance-only")
    with CofreClient(cofre.url, token_file=token_file) as balance_only:
        # get_request is every agent's: it reads only the agent's own requests.
        assert list(by_name(balance_only)) == ["get_balance", "get_request"]


def test_named_actions_need_no_listing_and_unknown_names_are_refused(client: CofreClient) -> None:
    assert list(by_name(client, actions=["get_ticker", "get_balance"])) == ["get_balance", "get_ticker"]
    with pytest.raises(ValueError, match="unknown cofre action.*get_balances"):
        tools(client, actions=["get_balances"])
    with pytest.raises(TypeError, match="list of action names"):
        tools(client, actions="get_balance")


def test_a_revoked_token_is_raised_not_shown_to_the_model(cofre: CofreStack) -> None:
    token_file = cofre.add_agent("py-swarm-revoked")
    with CofreClient(cofre.url, token_file=token_file) as revoked:
        get_balance = by_name(revoked, actions=["get_balance"])["get_balance"]
        cofre.cli("agent", "revoke", "py-swarm-revoked")
        with pytest.raises(CofreUnauthenticated):
            get_balance(account="paper").run()


def test_an_async_client_is_refused_with_what_to_use(cofre: CofreStack) -> None:
    import anyio
    from cofre_client import AsyncCofreClient

    aclient = AsyncCofreClient(cofre.url, token_file=cofre.token_file)
    try:
        with pytest.raises(TypeError, match="needs a CofreClient.*not AsyncCofreClient"):
            tools(aclient)  # type: ignore[arg-type]
    finally:
        anyio.run(aclient.aclose)
