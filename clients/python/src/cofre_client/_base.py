"""Configuration both clients share: where cofre is, the token and how it is reread, and what a repr shows."""

from __future__ import annotations

import os
from typing import NoReturn

from . import _wire
from ._errors import CofreConfigError, CofreError, CofreTransportError
from ._exchange import SubjectTokenSource, TokenExchange, subject_file_from
from ._token import Token, read_token_file, token_file_from

BASE_URL_ENV = "COFRE_URL"


class _ClientBase:
    _token: Token | None
    # Issue 17: set when the client exchanges the workload's identity token instead of holding a cofre token.
    _exchange: TokenExchange | None

    def __init__(
        self,
        base_url: str | None,
        token_file: str | os.PathLike[str] | None,
        timeout: float,
        subject_token_file: str | os.PathLike[str] | None = None,
        subject_token: SubjectTokenSource | None = None,
    ) -> None:
        url = base_url or os.environ.get(BASE_URL_ENV) or _wire.DEFAULT_BASE_URL
        if not url.startswith(("http://", "https://")):
            raise CofreConfigError("COFRE_INPUT_INVALID", f"base_url must start with http:// or https://, not {url!r}")
        self._base_url = url.rstrip("/")
        self._timeout = timeout
        given = [name for name, v in (("token_file", token_file), ("subject_token_file", subject_token_file),
                                      ("subject_token", subject_token)) if v is not None]
        if len(given) > 1:
            raise CofreConfigError("COFRE_INPUT_INVALID", f"give one of {', '.join(given)}, not several")
        if subject_token_file is not None or subject_token is not None:
            self._exchange = TokenExchange(subject_file_from(subject_token_file), subject_token)
            self._token_file = ""
            self._token = None
            return
        self._exchange = None
        self._token_file = token_file_from(token_file)
        # Read now, so a missing or insecure file fails at construction rather than at the first trade.
        self._token = read_token_file(self._token_file)

    @property
    def base_url(self) -> str:
        """cofre's base URL, without a trailing slash (MCP is at ``<base_url>/mcp``)."""
        return self._base_url

    @property
    def token_file(self) -> str:
        """The file the token is read from ("" when the client exchanges a subject token instead)."""
        return self._token_file

    def bearer_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for an MCP client that takes headers (the only way the token leaves
        this object). SECURITY: hand it to the MCP client only; never log or print it."""
        return {"Authorization": self._authorization()}

    def _authorization(self) -> str:
        token = self._exchange.current() if self._exchange is not None else self._token
        if token is None:
            raise CofreConfigError(
                "COFRE_INPUT_INVALID",
                "no fresh cofre token: the subject token is exchanged on a call (await one first with the async client)",
            )
        return f"Bearer {token.reveal()}"

    def _needs_exchange(self) -> bool:
        return self._exchange is not None and self._exchange.current() is None

    def _reload_token(self) -> bool:
        """
        Rereads the token file after a 401; True when it now holds another token (the request is then sent once more).

        Why reread: a long-running agent whose token was replaced (revoked, then `cofre agent add` wrote a new file)
        picks up the new one without a restart; a 401 comes before cofre does anything, so sending the request again
        is safe even for a write. The file is read only on a 401, never on the happy path.
        """
        if self._exchange is not None:
            # An exchanged token expired early or was revoked: exchange again (cofre decides whether it may).
            self._exchange.forget()
            return True
        try:
            fresh = read_token_file(self._token_file)
        except CofreError:
            return False
        if fresh == self._token:
            return False
        self._token = fresh
        return True

    def __repr__(self) -> str:
        # SECURITY: the token file's path, never the token.
        if self._exchange is not None:
            return f"{type(self).__name__}(base_url={self._base_url!r}, subject_token_file={self._exchange.file!r})"
        return f"{type(self).__name__}(base_url={self._base_url!r}, token_file={self._token_file!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled (it holds an agent token)")


def transport_error(err: Exception, method: str, path: str) -> CofreTransportError:
    import httpx

    if isinstance(err, httpx.TimeoutException):
        return CofreTransportError(
            f"cofre did not answer {method} {path} in time ({type(err).__name__}); for a write the outcome is unknown: "
            "send it again with the same clientOrderId (cofre answers the first result), never with a new one",
            code="COFRE_CLIENT_TIMEOUT",
            retryable=True,
        )
    return CofreTransportError(
        f"cannot reach cofre for {method} {path}: {type(err).__name__}: {err}",
        code="COFRE_CLIENT_UNREACHABLE",
        retryable=True,
    )
