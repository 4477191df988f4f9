"""The asyncio client against the same real cofre: the same answers, awaited."""

from __future__ import annotations

import anyio
import pytest

from cofre_client import (
    AsyncCofreClient,
    CofreApiError,
    CofreDenied,
    CofrePendingApproval,
    CofreRequestFailed,
    CofreUnauthenticated,
)
from cofre_stack import CofreStack

pytestmark = pytest.mark.anyio


async def test_get_balance(aclient: AsyncCofreClient) -> None:
    result = await aclient.get_balance(account="paper")
    assert "USDT" in result["balance"]["assets"]


async def test_concurrent_reads_on_one_client(aclient: AsyncCofreClient) -> None:
    results: list[object] = []

    async def read() -> None:
        results.append(await aclient.get_ticker(account="paper", symbol="BTC/USDT"))

    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(read)
    assert len(results) == 5


async def test_denied_and_bad_input(aclient: AsyncCofreClient, order_id: str) -> None:
    with pytest.raises(CofreDenied) as denied:
        await aclient.place_order(
            account="paper", symbol="BTC/USDT", side="buy", type="market", amount="0.1", client_order_id=order_id
        )
    assert denied.value.rule and denied.value.request_id
    with pytest.raises(CofreApiError) as invalid:
        await aclient.get_balance(account="Not An Account")
    assert invalid.value.code == "COFRE_INPUT_INVALID"


async def test_pending_then_approved_then_waited_for(
    aclient: AsyncCofreClient, cofre: CofreStack, order_id: str
) -> None:
    with pytest.raises(CofrePendingApproval) as caught:
        await aclient.place_order(
            account="paper", symbol="BTC/USDT", side="buy", type="limit", amount="0.05", price="60000",
            client_order_id=order_id,
        )
    request_id = caught.value.request_id
    assert request_id
    await anyio.to_thread.run_sync(lambda: cofre.cli("approval", "approve", request_id))
    answer = await aclient.wait_for(request_id, timeout=60, interval=0.2)
    assert answer["status"] == "executed", answer


async def test_replay(aclient: AsyncCofreClient, order_id: str) -> None:
    body = {"account": "paper", "symbol": "BTC/USDT", "side": "sell", "type": "market", "amount": "0.001",
            "clientOrderId": order_id}
    first = await aclient.call("place_order", body)
    again = await aclient.call("place_order", body)
    assert first["status"] == "executed"
    assert again.get("replayed") is True and again["requestId"] == first["requestId"]


async def test_venue_failure(aclient: AsyncCofreClient, cofre: CofreStack) -> None:
    cofre.stop_paper()
    try:
        with pytest.raises(CofreRequestFailed) as caught:
            await aclient.get_balance(account="paper")
    finally:
        cofre.start_paper()
    assert caught.value.code and caught.value.code.startswith("COFRE_VENUE_")
    assert caught.value.retryable is True


async def test_wrong_token(cofre: CofreStack, tmp_path_factory: pytest.TempPathFactory) -> None:
    wrong = tmp_path_factory.mktemp("awrong") / "wrong.token"
    wrong.write_text("cofre_wrongwrongwrong\n")
    wrong.chmod(0o600)
    async with AsyncCofreClient(cofre.url, token_file=wrong) as client:
        with pytest.raises(CofreUnauthenticated):
            await client.list_accounts()
