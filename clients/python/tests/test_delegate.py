"""
Issue 17: a Python agent mints a narrower token for a sub-agent against a real cofre (tests/cofre_stack.py); the
token goes to a new private file the sub-agent's own client reads, and the sub-agent does only what it was granted.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cofre_client import AsyncCofreClient, CofreApiError, CofreClient, CofreConfigError, CofreDenied
from cofre_stack import CofreStack


def test_delegate_writes_a_private_token_file_for_a_narrower_sub_agent(
    client: CofreClient, cofre: CofreStack, tmp_path: Path
) -> None:
    token_file = tmp_path / "watcher.token"
    minted = client.delegate(
        "watcher",
        token_file=token_file,
        actions=["get_balance", "get_ticker"],
        symbols=["BTC/USDT"],
        limits=[{"measure": "orders", "window": "1h", "cap": "0"}],
        ttl="10m",
    )
    assert "token" not in minted
    assert minted["agent"] == "py-agent/watcher"
    assert minted["onBehalfOf"] == ["py-agent"]
    assert minted["grant"]["actions"] == ["get_balance", "get_ticker"]
    assert minted["tokenFile"] == str(token_file)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().startswith("cofre_st_")

    with CofreClient(cofre.url, token_file=token_file) as watcher:
        assert watcher.get_ticker(account="paper", symbol="BTC/USDT") is not None
        with pytest.raises(CofreDenied) as denied:
            watcher.get_open_orders(account="paper")
        assert denied.value.rule == "delegation"
        # The sub-agent cannot hand on more than it holds.
        with pytest.raises(CofreApiError) as refused:
            watcher.delegate("wider", token_file=tmp_path / "wider.token", actions=["place_order"])
        assert refused.value.code == "COFRE_DELEGATION_REFUSED"
        assert refused.value.status == 403
        assert "action place_order is not yours to ask for" in str(refused.value)
    assert not (tmp_path / "wider.token").exists()


def test_delegate_refuses_an_existing_token_file_and_bad_input(client: CofreClient, tmp_path: Path) -> None:
    taken = tmp_path / "taken.token"
    taken.write_text("something else")
    with pytest.raises(CofreConfigError):
        client.delegate("taken", token_file=taken, ttl="1m")
    assert taken.read_text() == "something else"
    with pytest.raises(CofreApiError) as caught:
        client.delegate("Not Valid", token_file=tmp_path / "bad.token")
    assert caught.value.code == "COFRE_INPUT_INVALID"
    with pytest.raises(Exception) as not_a_list:
        client.delegate("x", token_file=tmp_path / "x.token", actions="get_balance")  # type: ignore[arg-type]
    assert "must be a list" in str(not_a_list.value)


@pytest.mark.anyio
async def test_async_delegate(aclient: AsyncCofreClient, cofre: CofreStack, tmp_path: Path) -> None:
    token_file = tmp_path / "async.token"
    minted = await aclient.delegate("async-helper", token_file=token_file, accounts=["paper"], actions=["get_balance"])
    assert minted["agent"] == "py-agent/async-helper"
    async with AsyncCofreClient(cofre.url, token_file=token_file) as helper:
        assert await helper.get_balance(account="paper") is not None
