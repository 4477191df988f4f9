"""Choosing the actions that become tools: from the agent's OpenAPI document, or by name."""

from __future__ import annotations

import pytest
from cofre_client import ACTION_NAMES
from cofre_client._tool_spec import actions_in_openapi, select_specs


def test_the_actions_come_from_the_action_paths_only() -> None:
    document = {"paths": {"/v1/actions/get_balance": {}, "/v1/requests/{requestId}": {}, "/v1/health": {}}}
    assert actions_in_openapi(document) == ["get_balance"]


def test_a_document_without_paths_is_refused() -> None:
    with pytest.raises(ValueError, match="no paths"):
        actions_in_openapi({"openapi": "3.1.0"})


def test_an_action_the_server_lists_but_this_client_does_not_know_is_left_out() -> None:
    # A server newer than the client: its new action has no tool until the client is updated.
    chosen = select_specs(None, ["get_balance", "get_funding_rate"])
    assert [spec.name for spec in chosen] == ["get_balance"]


def test_named_actions_keep_cofres_order_and_meet_the_agents_own() -> None:
    assert [spec.name for spec in select_specs(["withdraw", "get_balance"], None)] == ["get_balance", "withdraw"]
    assert [spec.name for spec in select_specs(["withdraw", "get_balance"], ["get_balance"])] == ["get_balance"]
    assert [spec.name for spec in select_specs(None, None)] == list(ACTION_NAMES)


def test_a_spec_hands_out_copies_of_its_schema() -> None:
    (spec,) = select_specs(["get_balance"], None)
    copy = spec.schema_copy()
    copy["properties"]["account"]["pattern"] = "changed"
    assert select_specs(["get_balance"], None)[0].input_schema["properties"]["account"]["pattern"] != "changed"
