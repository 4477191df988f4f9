"""What the framework adapters' tests share: the orders that end in each status on the test cofre, and reading a
tool's output the way a model would (the data notice, then cofre's answer as JSON).

At 60,000 USDT per BTC (the paper exchange's price) and the harness's `demo` policy: 60 USDT runs, 3,000 waits for
an operator, 6,000 is denied.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping

from cofre_client._tool_output import DATA_NOTICE

SMALL, APPROVAL, DENIED = "0.001", "0.05", "0.1"


def market_buy(amount: str, client_order_id: str) -> Dict[str, Any]:
    return {
        "account": "paper",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "market",
        "amount": amount,
        "clientOrderId": client_order_id,
    }


def read_output(text: object) -> Dict[str, Any]:
    """cofre's answer from a tool's output, checking it starts with the data notice."""
    assert isinstance(text, str), f"a tool output should be text, got {type(text).__name__}: {text!r}"
    notice, _, body = text.partition("\n")
    assert notice == DATA_NOTICE, f"the output should start with cofre's data notice, got {notice!r}"
    answer = json.loads(body)
    assert isinstance(answer, dict)
    return answer


def action_descriptions(document: Mapping[str, Any]) -> Dict[str, str]:
    """Each action's description as the live OpenAPI document gives it (cofre's own words)."""
    return {
        path.rsplit("/", 1)[1]: op["post"]["description"]
        for path, op in document["paths"].items()
        if path.startswith("/v1/actions/")
    }


def action_schemas(document: Mapping[str, Any]) -> Dict[str, Any]:
    """Each action's request-body JSON Schema as the live OpenAPI document gives it."""
    return {
        path.rsplit("/", 1)[1]: op["post"]["requestBody"]["content"]["application/json"]["schema"]
        for path, op in document["paths"].items()
        if path.startswith("/v1/actions/")
    }
