"""One tool call, as every adapter makes it: send the action through the client and turn whatever cofre answered
into the text the model reads (see _tool_output).

- executed, denied, pending_approval and failed are cofre's answer: the model reads them.
- A request cofre refused before deciding (bad input the schema could not catch, an idempotency conflict, a quota)
  is data too, as cofre's MCP tools show it: the model can correct itself or wait.
- A rejected token, an unreachable cofre or an unreadable answer is raised: the model cannot fix those, and each
  framework handles a raised tool error in its own way (Agency Swarm and the OpenAI Agents SDK tell the model the
  tool failed; LangChain raises to the caller).
"""

from __future__ import annotations

from typing import Any, Mapping

from ._async_client import AsyncCofreClient
from ._client import CofreClient
from ._errors import CofreApiError, CofreUnauthenticated
from ._tool_output import error_text, response_text


def call_text(client: CofreClient, action: str, args: Mapping[str, Any]) -> str:
    """Run `action` with `args` on a sync CofreClient; the model's text."""
    try:
        response = client.call(action, dict(args))
    except CofreApiError as err:
        return _error(err)
    return response_text(response)


async def acall_text(client: AsyncCofreClient, action: str, args: Mapping[str, Any]) -> str:
    """Run `action` with `args` on an AsyncCofreClient; the model's text."""
    try:
        response = await client.call(action, dict(args))
    except CofreApiError as err:
        return _error(err)
    return response_text(response)


def _error(err: CofreApiError) -> str:
    if isinstance(err, CofreUnauthenticated):
        raise err
    return error_text(err.code or "COFRE_INTERNAL", err.message, err.retryable)
