"""The sync client against a real cofre: every status an action can end in, and every way a request can be refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cofre_client import (
    CofreApiError,
    CofreApprovalTimeout,
    CofreClient,
    CofreDenied,
    CofrePendingApproval,
    CofreRequestFailed,
    CofreTransportError,
    CofreUnauthenticated,
)
from cofre_stack import CofreStack, free_port

# At 60,000 USDT per BTC (the paper exchange's price): 60 USDT runs, 3,000 waits for an operator, 6,000 is denied.
SMALL, APPROVAL, DENIED = "0.001", "0.05", "0.1"


def order(client: CofreClient, amount: str, client_order_id: str, **kw: object) -> object:
    return client.place_order(
        account="paper", symbol="BTC/USDT", side="buy", type="market", amount=amount,
        client_order_id=client_order_id, **kw,  # type: ignore[arg-type]
    )


def test_get_balance_returns_the_paper_accounts_assets(client: CofreClient) -> None:
    result = client.get_balance(account="paper")
    assert set(result["balance"]["assets"]) >= {"USDT", "BTC", "ETH"}
    assert result["balance"]["assets"]["USDT"]["free"]  # a decimal string


def test_read_actions_return_their_results(client: CofreClient) -> None:
    accounts = client.list_accounts()
    assert "paper" in str(accounts)
    ticker = client.get_ticker(account="paper", symbol="BTC/USDT")
    assert "60000" in str(ticker)


def test_http_request_calls_a_service_without_its_key(client: CofreClient) -> None:
    # The paper exchange's public API as a service: cofre injects the key; the answer is text JSON.
    result = client.http_request(service="paper-public", method="GET", path="/time")
    assert result["response"]["status"] == 200
    assert result["response"]["encoding"] == "utf8"
    assert "serverTime" in result["response"]["body"]
    with pytest.raises(CofreDenied):
        client.http_request(service="paper-public", method="POST", path="/time", body={"a": 1})


def test_a_small_order_executes_and_get_request_reads_it_back(client: CofreClient, order_id: str) -> None:
    answer = client.call(
        "place_order",
        {"account": "paper", "symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": SMALL,
         "clientOrderId": order_id},
    )
    assert answer["status"] == "executed", answer
    assert "replayed" not in answer
    stored = client.fetch_request(answer["requestId"])
    assert stored["status"] == "executed"
    assert stored["requestId"] == answer["requestId"]


def test_an_order_over_every_cap_is_denied_with_the_rule_and_reason(client: CofreClient, order_id: str) -> None:
    with pytest.raises(CofreDenied) as caught:
        order(client, DENIED, order_id)
    denied = caught.value
    assert denied.request_id and denied.request_id.startswith("req_")
    assert denied.rule and denied.reason
    assert denied.status == 403
    assert denied.retryable is False
    # call() gives the same answer as data, for tools to show a model.
    answer = client.call("get_balance", {"account": "someone-elses"})
    assert answer["status"] == "denied"
    assert answer.get("reason")


def test_a_pending_approval_is_raised_then_approved_by_the_operator_and_seen_by_wait_for(
    client: CofreClient, cofre: CofreStack, order_id: str
) -> None:
    with pytest.raises(CofrePendingApproval) as caught:
        order(client, APPROVAL, order_id)
    pending = caught.value
    assert pending.request_id
    assert pending.code is None
    # Still pending: wait_for gives up after its timeout, and the request stays pending.
    with pytest.raises(CofreApprovalTimeout) as timed_out:
        client.wait_for(pending.request_id, timeout=0.3, interval=0.1)
    assert timed_out.value.request_id == pending.request_id
    assert timed_out.value.code == "COFRE_CLIENT_APPROVAL_TIMEOUT"
    assert client.fetch_request(pending.request_id)["status"] == "pending_approval"

    cofre.cli("approval", "approve", pending.request_id)

    answer = client.wait_for(pending.request_id, timeout=60, interval=0.2)
    assert answer["status"] == "executed", answer
    assert answer["requestId"] == pending.request_id


def test_wait_true_returns_the_result_once_an_operator_approves(
    client: CofreClient, cofre: CofreStack, order_id: str
) -> None:
    import threading

    def approve_when_pending() -> None:
        # The operator, on the host: approves the pending request that carries this test's clientOrderId.
        import re
        import time

        for _ in range(300):
            listed = cofre.cli("approval", "list", "--status", "pending").stdout
            for request_id in re.findall(r"req_[A-Za-z0-9_-]+", listed):
                if order_id in cofre.cli("approval", "show", request_id).stdout:
                    cofre.cli("approval", "approve", request_id)
                    return
            time.sleep(0.2)

    operator = threading.Thread(target=approve_when_pending)
    operator.start()
    try:
        result = order(client, APPROVAL, order_id, wait=True, approval_timeout=60)
    finally:
        operator.join()
    assert result is not None


def test_the_same_order_again_is_replayed_not_placed_twice(client: CofreClient, order_id: str) -> None:
    body = {"account": "paper", "symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": SMALL,
            "clientOrderId": order_id}
    first = client.call("place_order", body)
    assert first["status"] == "executed"
    # Amounts compare as decimals: 0.0010 is the order 0.001, sent as a Decimal.
    again = client.call("place_order", {**body, "amount": Decimal("0.0010")})
    assert again.get("replayed") is True
    assert again["requestId"] == first["requestId"]
    assert again.get("result") == first.get("result")
    # The typed method returns the first result too.
    assert order(client, SMALL, order_id) == first.get("result")


def test_a_different_order_with_a_used_client_order_id_is_a_conflict(client: CofreClient, order_id: str) -> None:
    order(client, SMALL, order_id)
    with pytest.raises(CofreApiError) as caught:
        order(client, "0.002", order_id)
    assert caught.value.code == "COFRE_IDEMPOTENCY_CONFLICT"
    assert caught.value.status == 409


def test_bad_input_is_refused_with_cofre_input_invalid(client: CofreClient) -> None:
    with pytest.raises(CofreApiError) as caught:
        client.get_ticker(account="paper", symbol="btc-usdt")
    err = caught.value
    assert err.code == "COFRE_INPUT_INVALID"
    assert err.status == 400
    assert err.retryable is False
    assert "symbol" in err.message
    # Unknown fields are errors too (the schemas are strict), through call() as well.
    with pytest.raises(CofreApiError) as unknown:
        client.call("get_balance", {"account": "paper", "acount": "typo"})
    assert unknown.value.code == "COFRE_INPUT_INVALID"


def test_arguments_that_are_not_json_are_refused_before_sending(client: CofreClient) -> None:
    with pytest.raises(Exception) as caught:
        client.call("get_balance", {"account": object()})
    assert getattr(caught.value, "code", None) == "COFRE_INPUT_INVALID"
    with pytest.raises(Exception) as bad_name:
        client.call("../operator/halt", {})
    assert getattr(bad_name.value, "code", None) == "COFRE_INPUT_INVALID"


@pytest.mark.parametrize(
    ("request_id", "kwargs"),
    [("req_../../v1/x", {}), ("", {}), ("req_ok", {"interval": 0}), ("req_ok", {"timeout": -1})],
    ids=["path-in-id", "empty-id", "zero-interval", "negative-timeout"],
)
def test_wait_for_refuses_bad_arguments_before_sending(
    client: CofreClient, request_id: str, kwargs: dict[str, float]
) -> None:
    from cofre_client import CofreError

    with pytest.raises(CofreError) as caught:
        client.wait_for(request_id, **kwargs)
    assert caught.value.code == "COFRE_INPUT_INVALID"
    assert caught.value.status is None  # refused here, not by cofre


def test_an_unknown_request_id_is_not_found(client: CofreClient) -> None:
    with pytest.raises(CofreApiError) as caught:
        client.fetch_request("req_doesnotexist000")
    assert caught.value.status == 404
    assert caught.value.code == "COFRE_REQUEST_NOT_FOUND"


def test_a_stopped_exchange_fails_the_action_with_a_retryable_venue_error(
    client: CofreClient, cofre: CofreStack
) -> None:
    cofre.stop_paper()
    try:
        with pytest.raises(CofreRequestFailed) as caught:
            client.get_balance(account="paper")
        failed = caught.value
        assert failed.code is not None and failed.code.startswith("COFRE_VENUE_"), failed
        assert failed.retryable is True
        assert failed.request_id
        answer = client.call("get_balance", {"account": "paper"})
        assert answer["status"] == "failed"
        assert answer["error"]["retryable"] is True
    finally:
        cofre.start_paper()
    # Retryable indeed: the same request succeeds once the exchange is back.
    assert client.get_balance(account="paper")["balance"]["assets"]


def test_a_wrong_token_gets_401(cofre: CofreStack, tmp_path_factory: pytest.TempPathFactory) -> None:
    wrong = tmp_path_factory.mktemp("wrong") / "wrong.token"
    wrong.write_text("cofre_" + "x" * 43 + "\n")
    wrong.chmod(0o600)
    with CofreClient(cofre.url, token_file=wrong) as client:
        with pytest.raises(CofreUnauthenticated) as caught:
            client.get_balance(account="paper")
    assert caught.value.status == 401
    assert caught.value.code == "COFRE_UNAUTHENTICATED"
    assert "x" * 20 not in str(caught.value) + repr(caught.value)


def test_a_revoked_token_gets_401_and_a_replaced_token_file_is_picked_up(cofre: CofreStack) -> None:
    token_file = cofre.add_agent("py-revoked")
    with CofreClient(cofre.url, token_file=token_file) as client:
        assert client.get_balance(account="paper")
        cofre.cli("agent", "revoke", "py-revoked")
        with pytest.raises(CofreUnauthenticated):
            client.get_balance(account="paper")
        # The operator hands the agent a new token in the same file: the client rereads it on the next 401.
        token_file.unlink()
        cofre.cli("agent", "add", "py-revoked-2", "--policy", "demo", "--token-file", str(token_file))
        assert client.get_balance(account="paper")["balance"]["assets"]


def test_over_the_quota_is_429_with_retry_after(cofre: CofreStack) -> None:
    # A second broker on the same state, whose quota is one request, then one per 100 s.
    port = free_port()
    config = cofre.dir / "tight.yaml"
    cofre.write_config(config, serve_port=port, rps=0.01, burst=1)
    cofre.start_serve("serve-tight", config, f"http://127.0.0.1:{port}")
    try:
        with CofreClient(f"http://127.0.0.1:{port}", token_file=cofre.token_file) as client:
            client.get_balance(account="paper")
            from cofre_client import CofreRateLimited

            with pytest.raises(CofreRateLimited) as caught:
                client.get_balance(account="paper")
    finally:
        cofre.stop_serve("serve-tight")
    limited = caught.value
    assert limited.status == 429
    assert limited.code == "COFRE_AGENT_QUOTA_EXCEEDED"
    assert limited.retryable is True
    assert limited.retry_after is not None and limited.retry_after >= 1


def test_an_unreachable_cofre_is_a_retryable_transport_error(cofre: CofreStack) -> None:
    with CofreClient(f"http://127.0.0.1:{free_port()}", token_file=cofre.token_file, timeout=5) as client:
        with pytest.raises(CofreTransportError) as caught:
            client.get_balance(account="paper")
    assert caught.value.code == "COFRE_CLIENT_UNREACHABLE"
    assert caught.value.retryable is True


def test_health_and_the_agents_own_openapi_document(client: CofreClient, cofre: CofreStack) -> None:
    assert client.health() == {"status": "ok"}
    assert client.base_url == cofre.url
    document = client.openapi()
    assert "/v1/actions/get_balance" in document["paths"]
    # An agent sees only its own actions.
    narrow = cofre.add_agent("py-balance-only", policy="balance-only")
    with CofreClient(cofre.url, token_file=narrow) as other:
        paths = [p for p in other.openapi()["paths"] if p.startswith("/v1/actions/")]
    assert "/v1/actions/place_order" not in paths
    assert "/v1/actions/get_balance" in paths


def test_a_withdrawal_waits_for_an_operator_who_denies_it(
    client: CofreClient, cofre: CofreStack, order_id: str
) -> None:
    with pytest.raises(CofrePendingApproval) as caught:
        client.withdraw(
            account="paper", asset="USDT", amount="100", destination="cold-usdt", client_withdraw_id=order_id
        )
    pending = caught.value
    assert pending.request_id and pending.expires_at and pending.payload_hash
    cofre.cli("approval", "deny", pending.request_id)
    answer = client.wait_for(pending.request_id, timeout=60, interval=0.2)
    assert answer["status"] == "denied", answer
    assert "operator" in answer.get("reason", "")
    # The typed method's view of the same answer: a denial.
    with pytest.raises(CofreDenied):
        client.get_request(request_id=pending.request_id)


def test_a_server_that_is_not_cofre_is_a_response_error(cofre: CofreStack) -> None:
    from cofre_client import CofreResponseError

    # The paper exchange answers JSON, but not cofre's.
    with CofreClient(f"http://127.0.0.1:{cofre.paper_port}", token_file=cofre.token_file) as client:
        with pytest.raises(CofreResponseError) as caught:
            client.get_balance(account="paper")
    assert caught.value.code == "COFRE_CLIENT_RESPONSE_INVALID"
