"""
The client is typed for real: mypy --strict passes on the client's modules, accepts a correct use of the generated
types, and rejects a wrong one (a misspelt keyword, a value outside an enum, a result field used as the wrong type).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cofre_client"
# The core client's modules; the framework adapters are checked by their own tests.
CORE = ["__init__.py", "_action_spec.py", "_async_client.py", "_base.py", "_client.py", "_errors.py",
        "_generated.py", "_token.py", "_wire.py", "types.py"]

GOOD = '''
from decimal import Decimal

from cofre_client import AsyncCofreClient, CofreClient, CofreDenied
from cofre_client.types import Order, PlaceOrderInput


def balance(c: CofreClient) -> str:
    return c.get_balance(account="paper")["balance"]["assets"]["USDT"]["free"]


def buy(c: CofreClient) -> Order:
    try:
        return c.place_order(
            account="paper", symbol="BTC/USDT", side="buy", type="limit", amount=Decimal("0.001"),
            price="60000", client_order_id="a-1", wait=True, approval_timeout=30.0,
        )["order"]
    except CofreDenied as denied:
        raise RuntimeError(denied.reason) from denied


async def ticker(c: AsyncCofreClient) -> str | None:
    return (await c.get_ticker(account="paper", symbol="BTC/USDT"))["ticker"].get("last")


body: PlaceOrderInput = {
    "account": "paper", "symbol": "BTC/USDT", "side": "sell", "type": "market", "amount": "0.001",
    "clientOrderId": "b-1",
}
'''

BAD = '''
from cofre_client import CofreClient


def wrong(c: CofreClient) -> int:
    c.get_balance(acount="paper")
    c.place_order(account="paper", symbol="BTC/USDT", side="hold", type="market", amount="1", client_order_id="x")
    return c.get_balance(account="paper")["balance"]["assets"]["USDT"]["free"]
'''


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null", *args],
        capture_output=True, text=True, timeout=300,
    )


def test_the_core_modules_pass_mypy_strict() -> None:
    ran = mypy(*(str(PACKAGE / name) for name in CORE))
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_correct_use_type_checks_and_a_wrong_one_does_not(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    good = mypy("--follow-imports=silent", str(tmp_path / "good.py"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = mypy("--follow-imports=silent", str(tmp_path / "bad.py"))
    assert bad.returncode == 1
    for expected in ('Unexpected keyword argument "acount"', "Literal['hold']", 'got "str", expected "int"'):
        assert expected in bad.stdout, bad.stdout
