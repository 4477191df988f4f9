"""
What the sync and async clients share: the request they send and how they read cofre's answer. No I/O here, so both
clients read answers through exactly the same rules.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence, cast

from ._errors import (
    CofreApiError,
    CofreDenied,
    CofreError,
    CofrePendingApproval,
    CofreRateLimited,
    CofreRequestFailed,
    CofreResponseError,
    CofreUnauthenticated,
)
from ._generated import ActionResponse

DEFAULT_BASE_URL = "http://127.0.0.1:8787"
DEFAULT_TIMEOUT = 30.0
DEFAULT_APPROVAL_TIMEOUT = 300.0
DEFAULT_POLL_INTERVAL = 1.0
USER_AGENT = "cofre-client-python/0.1.0"

STATUSES = frozenset({"executed", "denied", "pending_approval", "failed"})
_ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def action_path(action: str) -> str:
    # The name goes into a URL path: refuse anything but an action-shaped name rather than escape it.
    if not isinstance(action, str) or not _ACTION_NAME.match(action):
        raise CofreError(f"invalid action name {action!r}", code="COFRE_INPUT_INVALID")
    return f"/v1/actions/{action}"


def request_path(request_id: str) -> str:
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise CofreError(f"invalid request id {request_id!r}", code="COFRE_INPUT_INVALID")
    return f"/v1/requests/{request_id}"


def check_wait(timeout: float, interval: float) -> None:
    # A zero or negative interval would poll as fast as the loop runs, into the agent's quota.
    if not (isinstance(interval, (int, float)) and interval > 0):
        raise CofreError(f"interval must be a positive number of seconds, not {interval!r}", code="COFRE_INPUT_INVALID")
    if not (isinstance(timeout, (int, float)) and timeout >= 0):
        raise CofreError(f"timeout must be a number of seconds >= 0, not {timeout!r}", code="COFRE_INPUT_INVALID")


def encode_body(args: Mapping[str, Any] | None) -> bytes:
    """JSON body of an action. Decimals go as strings, so no amount is ever rounded through a float."""
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise CofreError(f"action arguments must be a mapping, not {type(args).__name__}", code="COFRE_INPUT_INVALID")

    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return format(value, "f")
        raise TypeError(f"cannot send a {type(value).__name__} to cofre")

    try:
        return json.dumps(dict(args), default=default, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as err:
        raise CofreError(f"action arguments are not JSON: {err}", code="COFRE_INPUT_INVALID") from None


def headers(authorization: str) -> dict[str, str]:
    return {"Authorization": authorization, "Accept": "application/json", "User-Agent": USER_AGENT}


def decode_json(status: int, content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        raise CofreResponseError(
            f"cofre answered HTTP {status} with a body that is not JSON; is the base URL a cofre server?",
            code="COFRE_CLIENT_RESPONSE_INVALID",
            status=status,
        ) from None


def is_action_response(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("requestId"), str)
        and body.get("status") in STATUSES
    )


def read_answer(status: int, response_headers: Mapping[str, str], content: bytes) -> ActionResponse:
    """
    An action answer (POST /v1/actions/<name>, GET /v1/requests/<id>): the ActionResponse for every status cofre
    decided (executed 200, pending_approval 202, denied 403, failed 502 or another status, and a 409 for a request
    still running), or the error cofre refused the request with, raised.
    """
    body = decode_json(status, content)
    if is_action_response(body):
        return cast(ActionResponse, body)
    raise error_from(status, response_headers, body)


def read_document(status: int, response_headers: Mapping[str, str], content: bytes) -> dict[str, Any]:
    body = decode_json(status, content)
    if 200 <= status < 300 and isinstance(body, dict):
        return body
    raise error_from(status, response_headers, body)


def error_from(status: int, response_headers: Mapping[str, str], body: Any) -> CofreError:
    """The exception for an `{error: {code, message, retryable}}` answer (or anything else that is not an answer)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return CofreResponseError(
            f"cofre answered HTTP {status} with a body this client does not know",
            code="COFRE_CLIENT_RESPONSE_INVALID",
            status=status,
            response=body if isinstance(body, dict) else None,
        )
    fields: dict[str, Any] = {
        "code": error["code"],
        "retryable": error.get("retryable") is True,
        "status": status,
        "request_id": error.get("requestId") if isinstance(error.get("requestId"), str) else None,
        "response": body,
    }
    message = str(error.get("message", error["code"]))
    if status == 401:
        return CofreUnauthenticated(message, **fields)
    if status == 429:
        return CofreRateLimited(message, retry_after=_retry_after(response_headers), **fields)
    return CofreApiError(message, **fields)


def _retry_after(response_headers: Mapping[str, str]) -> float | None:
    value = response_headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: cofre sends seconds, a proxy might not


def undecided(answer: ActionResponse) -> bool:
    """Still waiting for an operator, or approved and still running (cofre answers the stored request with a
    COFRE_REQUEST_IN_PROGRESS failure until it has run)."""
    if answer["status"] == "pending_approval":
        return True
    error: Mapping[str, Any] = answer.get("error") or {}
    return answer["status"] == "failed" and error.get("code") == "COFRE_REQUEST_IN_PROGRESS"


def outcome(answer: ActionResponse) -> Any:
    """The result of an executed answer; any other status raised as its exception."""
    status = answer["status"]
    request_id = answer["requestId"]
    if status == "executed":
        return answer.get("result")
    if status == "denied":
        rule, reason = answer.get("rule"), answer.get("reason")
        raise CofreDenied(
            f"denied by policy rule {rule}: {reason}" if rule else f"denied: {reason}",
            rule=rule,
            reason=reason,
            request_id=request_id,
            status=403,
            response=answer,
        )
    if status == "pending_approval":
        raise pending_error(answer)
    error: Mapping[str, Any] = answer.get("error") or {}
    raise CofreRequestFailed(
        str(error.get("message", "the request failed")),
        code=cast(str, error.get("code")) if error.get("code") else "COFRE_CLIENT_RESPONSE_INVALID",
        retryable=error.get("retryable") is True,
        request_id=request_id,
        venue_text=cast(str, error.get("venueText")) if isinstance(error.get("venueText"), str) else None,
        response=answer,
    )


def pending_error(
    answer: ActionResponse, cls: type[CofrePendingApproval] = CofrePendingApproval, note: str = ""
) -> CofrePendingApproval:
    approval: Mapping[str, Any] = cast(Mapping[str, Any], answer).get("approval") or {}
    reason = answer.get("reason")
    return cls(
        f"waiting for an operator's approval{note}: {reason or 'the policy asks for one'}; "
        f"wait_for({answer['requestId']!r}) waits for the decision (do not send it again)",
        code="COFRE_CLIENT_APPROVAL_TIMEOUT" if note else None,
        retryable=True,
        request_id=answer["requestId"],
        expires_at=approval.get("expiresAt"),
        payload_hash=approval.get("payloadHash"),
        rule=answer.get("rule"),
        reason=reason,
        response=answer,
    )


DELEGATE_PATH = "/v1/tokens/delegate"


def delegate_body(
    name: str,
    accounts: Sequence[str] | None,
    actions: Sequence[str] | None,
    symbols: Sequence[str] | None,
    limits: Sequence[Mapping[str, Any]] | None,
    ttl: str | None,
) -> bytes:
    """The body of ``POST /v1/tokens/delegate``: only what was given (absent lists inherit the parent's)."""
    fields: dict[str, Any] = {"name": name}
    for key, value in (("accounts", accounts), ("actions", actions), ("symbols", symbols)):
        if value is not None:
            if isinstance(value, str):
                raise CofreError(f"{key} must be a list of strings, not a string", code="COFRE_INPUT_INVALID")
            fields[key] = list(value)
    if limits is not None:
        fields["limits"] = [dict(limit) for limit in limits]
    if ttl is not None:
        fields["ttl"] = ttl
    return encode_body(fields)


def read_delegation(status: int, response_headers: Mapping[str, str], content: bytes) -> dict[str, Any]:
    """A minted delegation (201), or cofre's error raised (COFRE_DELEGATION_REFUSED, COFRE_INPUT_INVALID...)."""
    body = decode_json(status, content)
    if status == 201 and isinstance(body, dict) and isinstance(body.get("token"), str):
        return body
    raise error_from(status, response_headers, body)
