"""
The exceptions of the client. Every one is a CofreError carrying cofre's `code` (docs/errors.md in the cofre
repository, or a COFRE_CLIENT_* code for what happens on this side of the wire), `retryable` and, when cofre gave
one, the `request_id`. None ever holds the agent token.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = [
    "CofreError",
    "CofreConfigError",
    "CofreTransportError",
    "CofreResponseError",
    "CofreApiError",
    "CofreUnauthenticated",
    "CofreRateLimited",
    "CofreDenied",
    "CofrePendingApproval",
    "CofreApprovalTimeout",
    "CofreRequestFailed",
]


class CofreError(Exception):
    """Base of every error of this client.

    Attributes:
        code: cofre's error code (e.g. ``COFRE_VENUE_UNAVAILABLE``), or a ``COFRE_CLIENT_*`` code for a failure on
            this side of the wire; ``None`` for a policy denial or a pending approval, which are answers, not errors.
        message: what went wrong, for a person or a model to read.
        retryable: True when the same request may succeed later unchanged.
        request_id: the requestId cofre gave the request, when it got that far.
        status: the HTTP status of cofre's answer, when there was one.
        venue_text: the exchange's own words about a failure, when cofre passed them on (untrusted data).
        response: the decoded JSON answer, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        request_id: str | None = None,
        status: int | None = None,
        venue_text: str | None = None,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.request_id = request_id
        self.status = status
        self.venue_text = venue_text
        self.response = response

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}" if self.code else self.message]
        if self.request_id:
            parts.append(f"(requestId {self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"retryable={self.retryable!r}, request_id={self.request_id!r})"
        )


class CofreConfigError(CofreError):
    """The client cannot be set up: no token file, an unreadable one, or one others can read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class CofreTransportError(CofreError):
    """cofre could not be reached, or did not answer in time (COFRE_CLIENT_UNREACHABLE, COFRE_CLIENT_TIMEOUT).

    For a write, a timeout means the outcome is unknown: repeat it with the same clientOrderId (cofre answers the
    first result, marked replayed) or ask get_order, never with a new id.
    """


class CofreResponseError(CofreError):
    """cofre answered something this client cannot read (COFRE_CLIENT_RESPONSE_INVALID): not cofre, or a proxy."""


class CofreApiError(CofreError):
    """cofre refused the request before deciding it: ``{"error": {code, message, retryable}}`` with an HTTP status
    (400 COFRE_INPUT_INVALID, 404, 409 COFRE_IDEMPOTENCY_CONFLICT, 413, 415, 500, 503, ...)."""


class CofreUnauthenticated(CofreApiError):
    """401: the token is unknown, expired or revoked (cofre gives all three the same answer)."""


class CofreRateLimited(CofreApiError):
    """429: over the agent's quota. ``retry_after`` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CofreDenied(CofreError):
    """Policy denied the action (status ``denied``, HTTP 403). Do not retry it unchanged.

    Attributes:
        rule: the policy rule that decided.
        reason: why, and what would be allowed.
    """

    def __init__(self, message: str, *, rule: str | None, reason: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.rule = rule
        self.reason = reason


class CofrePendingApproval(CofreError):
    """The action waits for an operator (status ``pending_approval``, HTTP 202). It is not lost and must not be sent
    again: pass ``request_id`` to ``wait_for`` (or call the method with ``wait=True``).

    Attributes:
        expires_at: when the approval lapses (ISO 8601), when cofre said.
        payload_hash: the hash of the exact payload the operator approves.
        rule, reason: the policy rule that asked for approval, and why.
    """

    def __init__(
        self,
        message: str,
        *,
        expires_at: str | None,
        payload_hash: str | None,
        rule: str | None,
        reason: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.expires_at = expires_at
        self.payload_hash = payload_hash
        self.rule = rule
        self.reason = reason


class CofreApprovalTimeout(CofrePendingApproval):
    """``wait_for`` gave up while the request was still waiting for an operator (COFRE_CLIENT_APPROVAL_TIMEOUT).
    The request stays pending: an operator may still approve it; wait again with the same ``request_id``."""


class CofreRequestFailed(CofreError):
    """cofre tried and the action failed (status ``failed``): e.g. COFRE_VENUE_UNAVAILABLE (retryable) or
    COFRE_VENUE_OUTCOME_UNKNOWN (check with get_order and the same clientOrderId before anything else)."""
