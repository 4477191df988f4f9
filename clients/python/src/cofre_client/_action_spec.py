"""The metadata of one action, as the generated module lists it in ACTIONS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class ActionSpec:
    """What a framework adapter needs to offer one cofre action as a tool.

    Attributes:
        name: the action's name (``get_balance``), as in ``POST /v1/actions/<name>`` and the MCP tool.
        method: the client method that calls it (the same name).
        description: cofre's own description, written for a language model choosing a tool.
        write: True for actions that change state at the venue (orders, cancels, withdrawals).
        params: (python keyword, wire field) for each field of the request body, in the document's order.
        input_schema: the JSON Schema (2020-12) of the request body, with wire (camelCase) field names. Shared: copy
            it before changing it.
        result_schema: the JSON Schema of the ``result`` of an executed action, when the document has one.
    """

    name: str
    method: str
    description: str
    write: bool
    params: tuple[tuple[str, str], ...]
    input_schema: Mapping[str, Any]
    result_schema: Mapping[str, Any] | None
