"""
Workload identity exchange (cofre issue 17): the client holds no cofre token at all. It presents the workload's own
identity token (a Kubernetes projected service-account token, a GitHub Actions OIDC token) to cofre's
``POST /v1/token`` (OAuth 2.0 Token Exchange, RFC 8693) and receives a short-lived cofre token, kept until shortly
before it expires and then exchanged again with a freshly read subject token. No I/O to cofre here: both clients send
the request this module builds and hand the answer back, so the sync and async clients follow the same rules.
"""

from __future__ import annotations

import inspect
import os
import re
import time
from typing import Any, Awaitable, Callable, Mapping, Union
from urllib.parse import urlencode

from ._errors import CofreApiError, CofreConfigError, CofreResponseError
from ._token import Token

SubjectTokenSource = Callable[[], Union[str, Awaitable[str]]]

TOKEN_PATH = "/v1/token"
_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
_JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
_MAX_SUBJECT_TOKEN_BYTES = 16 * 1024
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
# Renew this long before expiry at most (a quarter of the token's life when that is shorter).
_RENEW_MARGIN = 60.0


class TokenExchange:
    """
    The exchanged cofre token and where the subject token comes from: a file read again for every exchange (the
    kubelet rewrites a projected token before it expires) or a callable.

    SECURITY: neither token is ever in a repr, an error or a log line; the subject token goes only into the body of
    the request to cofre's own token endpoint.
    """

    __slots__ = ("_file", "_source", "_token", "_renew_at")

    def __init__(self, file: str | None, source: SubjectTokenSource | None) -> None:
        self._file = file
        self._source = source
        self._token: Token | None = None
        self._renew_at = 0.0

    @property
    def file(self) -> str | None:
        return self._file

    def current(self) -> Token | None:
        """The cofre token, while it is fresh."""
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        return None

    def forget(self) -> None:
        """After a 401: the token was revoked or expired early; the next call exchanges again."""
        self._token = None

    def subject_token(self) -> str:
        """The subject token, for the sync client (a callable must return a string, not a coroutine)."""
        if self._file is not None:
            return _read_subject_file(self._file)
        value = self._source() if self._source is not None else ""
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            raise CofreConfigError(
                "COFRE_INPUT_INVALID", "subject_token returned an awaitable; the sync CofreClient needs a plain function"
            )
        return _checked(value)

    async def subject_token_async(self) -> str:
        """The subject token, for the async client (the callable may be a coroutine function)."""
        if self._file is not None:
            return _read_subject_file(self._file)
        value: Any = self._source() if self._source is not None else ""
        if inspect.isawaitable(value):
            value = await value
        return _checked(value)

    @staticmethod
    def request(subject_token: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the token request (RFC 8693 §2.1, form-encoded)."""
        body = urlencode({"grant_type": _GRANT, "subject_token": subject_token, "subject_token_type": _JWT_TYPE})
        return body.encode("ascii"), {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }

    def accept(self, started: float, status: int, headers: Mapping[str, str], body: Any) -> Token:
        """Keeps the token of a successful answer (RFC 8693 §2.2.1) or raises cofre's refusal (RFC 6749 §5.2)."""
        fields: Mapping[str, Any] = body if isinstance(body, dict) else {}
        token, expires_in = fields.get("access_token"), fields.get("expires_in")
        if (
            200 <= status < 300
            and isinstance(token, str)
            and token.startswith("cofre_")
            and isinstance(expires_in, (int, float))
            and expires_in > 0
        ):
            self._token = Token(token)
            self._renew_at = started + expires_in - min(_RENEW_MARGIN, expires_in / 4)
            return self._token
        error, description, code = fields.get("error"), fields.get("error_description"), fields.get("code")
        request_id = headers.get("x-request-id")
        if not isinstance(error, str):
            raise CofreResponseError(
                f"cofre's token endpoint answered HTTP {status} without a token exchange answer; "
                "is workload identity exchange configured (agents.exchange)?",
                code="COFRE_CLIENT_RESPONSE_INVALID",
                status=status,
                request_id=request_id,
            )
        # cofre's error_description names what was wrong with the subject token; it never holds a token.
        raise CofreApiError(
            f"cofre refused the token exchange ({error}): {description if isinstance(description, str) else ''}",
            code=code if isinstance(code, str) else "COFRE_TOKEN_EXCHANGE_REFUSED",
            retryable=status == 503,
            status=status,
            request_id=request_id,
        )

    def __repr__(self) -> str:
        return f"TokenExchange(subject_token_file={self._file!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a cofre token exchange cannot be pickled (it holds a token)")


def _read_subject_file(path: str) -> str:
    # No mode check: a projected token is mode 644 by default and scoped to its audience; it is not a cofre secret.
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_SUBJECT_TOKEN_BYTES + 1)
    except OSError as err:
        raise CofreConfigError(
            "COFRE_INPUT_INVALID", f"cannot read the subject token file {path}: {err.strerror or 'error'}"
        ) from None
    if len(raw) > _MAX_SUBJECT_TOKEN_BYTES:
        raise CofreConfigError(
            "COFRE_INPUT_INVALID", f"the subject token file {path} is larger than {_MAX_SUBJECT_TOKEN_BYTES} bytes"
        )
    return _checked(raw.decode("utf-8", errors="replace").strip())


def _checked(value: object) -> str:
    # SECURITY: the message never quotes what was given.
    if not isinstance(value, str) or not _JWT_SHAPE.match(value):
        raise CofreConfigError(
            "COFRE_INPUT_INVALID",
            "the subject token is empty or not a JWT (three base64url parts); give the workload identity token "
            "as the platform issued it",
        )
    return value


def subject_file_from(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)
