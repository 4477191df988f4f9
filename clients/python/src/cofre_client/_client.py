"""The synchronous client."""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import Any, Mapping, Sequence

import httpx

from . import _wire
from ._base import _ClientBase, transport_error
from ._errors import CofreApprovalTimeout
from ._exchange import TOKEN_PATH, SubjectTokenSource
from ._generated import ActionResponse, _SyncActions
from ._token import write_token_file


class CofreClient(_ClientBase, _SyncActions):
    """
    A synchronous client of one cofre server, acting as one agent.

    Every action is a typed method (``get_balance(account="paper")``, ``place_order(...)``) that returns the
    action's result when it executed and raises otherwise: :class:`CofreDenied`, :class:`CofrePendingApproval`,
    :class:`CofreRequestFailed`, or a :class:`CofreApiError` / :class:`CofreTransportError` when cofre refused or
    could not be reached. :meth:`call` returns cofre's answer as data instead, whatever its status.

    The token is read from ``token_file`` (default: the path in ``COFRE_TOKEN_FILE``), which must not be readable by
    group or others. The base URL defaults to ``COFRE_URL``, then http://127.0.0.1:8787.

    Safe to use from several threads (httpx.Client is). Close it, or use it as a context manager.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token_file: str | os.PathLike[str] | None = None,
        subject_token_file: str | os.PathLike[str] | None = None,
        subject_token: SubjectTokenSource | None = None,
        timeout: float = _wire.DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        super().__init__(base_url, token_file, timeout, subject_token_file, subject_token)
        # SECURITY: trust_env=False: no proxy from the environment sees the token, and no redirect is followed (a
        # redirect could carry the request elsewhere). The token is set per request, never on the client's headers.
        self._http = httpx.Client(
            base_url=self._base_url,
            timeout=timeout,
            transport=transport,
            verify=verify,
            trust_env=False,
            follow_redirects=False,
        )
        self._exchange_lock = threading.Lock()

    def __enter__(self) -> CofreClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _exchange_token(self) -> None:
        """Exchanges the subject token at POST /v1/token unless a fresh cofre token is held (one exchange at a time)."""
        assert self._exchange is not None
        with self._exchange_lock:
            if not self._needs_exchange():
                return
            body, headers = self._exchange.request(self._exchange.subject_token())
            started = time.monotonic()
            try:
                response = self._http.post(TOKEN_PATH, content=body, headers=headers)
            except httpx.HTTPError as err:
                raise transport_error(err, "POST", TOKEN_PATH) from None
            self._exchange.accept(
                started, response.status_code, response.headers, _wire.decode_json(response.status_code, response.content)
            )

    def bearer_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for an MCP client that takes headers, exchanging the subject token
        first when the client has no fresh cofre token. SECURITY: hand it to the MCP client only; never log it."""
        if self._needs_exchange():
            self._exchange_token()
        return super().bearer_headers()

    def _send(self, method: str, path: str, content: bytes | None = None, auth: bool = True) -> httpx.Response:
        for attempt in (1, 2):
            if auth and self._needs_exchange():
                self._exchange_token()
            headers = _wire.headers(self._authorization()) if auth else {"Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self._http.request(method, path, content=content, headers=headers)
            except httpx.HTTPError as err:
                raise transport_error(err, method, path) from None
            if response.status_code == 401 and auth and attempt == 1 and self._reload_token():
                continue
            return response
        raise AssertionError("unreachable")

    def call(self, action: str, args: Mapping[str, Any] | None = None) -> ActionResponse:
        """
        Asks cofre for an action with wire (camelCase) arguments and returns its answer, whatever its status:
        ``executed`` (with ``result``), ``denied`` (``rule``, ``reason``), ``pending_approval`` or ``failed``
        (``error``). Raises only when cofre refused the request itself (bad input, bad token, over quota, ...) or
        could not be reached. This is what tools show a model: the answer as data.
        """
        response = self._send("POST", _wire.action_path(action), _wire.encode_body(args))
        return _wire.read_answer(response.status_code, response.headers, response.content)

    def fetch_request(self, request_id: str) -> ActionResponse:
        """The stored answer of one of this agent's requests (``GET /v1/requests/<id>``)."""
        response = self._send("GET", _wire.request_path(request_id))
        return _wire.read_answer(response.status_code, response.headers, response.content)

    def wait_for(
        self,
        request_id: str,
        *,
        timeout: float = _wire.DEFAULT_APPROVAL_TIMEOUT,
        interval: float = _wire.DEFAULT_POLL_INTERVAL,
    ) -> ActionResponse:
        """
        Polls a request that waits for an operator until it is decided and has run, and returns its answer
        (``executed``, ``denied`` or ``failed``). Raises :class:`CofreApprovalTimeout` (a :class:`CofrePendingApproval`) when it is
        still pending after ``timeout`` seconds; the request stays pending and can be waited for again.
        """
        _wire.check_wait(timeout, interval)
        deadline = time.monotonic() + timeout
        while True:
            answer = self.fetch_request(request_id)
            if not _wire.undecided(answer):
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                raise _wire.pending_error(answer, CofreApprovalTimeout, f" after {timeout:g} s")
            time.sleep(min(interval, left))

    def openapi(self) -> dict[str, Any]:
        """cofre's OpenAPI document as this agent sees it: only the actions its policy can allow."""
        response = self._send("GET", "/v1/openapi.json")
        return _wire.read_document(response.status_code, response.headers, response.content)

    def health(self) -> dict[str, Any]:
        """``GET /v1/health`` (no token): ``{"status": "ok"}`` when cofre is up."""
        response = self._send("GET", "/v1/health", auth=False)
        return _wire.read_document(response.status_code, response.headers, response.content)

    def _action(
        self, name: str, body: dict[str, Any], *, wait: bool = False, approval_timeout: float | None = None
    ) -> Any:
        answer = self.call(name, body)
        if wait and answer["status"] == "pending_approval":
            timeout = _wire.DEFAULT_APPROVAL_TIMEOUT if approval_timeout is None else approval_timeout
            answer = self.wait_for(answer["requestId"], timeout=timeout)
        return _wire.outcome(answer)

    def delegate(
        self,
        name: str,
        *,
        token_file: str | os.PathLike[str],
        accounts: Sequence[str] | None = None,
        actions: Sequence[str] | None = None,
        symbols: Sequence[str] | None = None,
        limits: Sequence[Mapping[str, Any]] | None = None,
        ttl: str | None = None,
    ) -> dict[str, Any]:
        """
        Mints a narrower token for a sub-agent (``POST /v1/tokens/delegate``): its rights are a subset of this
        agent's (absent lists inherit, an empty list means none), its ``limits`` (``{"measure": "notional", "unit":
        "USDT", "window": "1h", "cap": "250"}``) draw on this agent's budget too, its ``ttl`` (``"15m"``) never
        outlives this token. The token is written to ``token_file`` (a new file, mode 600) for the sub-agent's own
        client (``CofreClient(url, token_file=...)``) and never returned; the answer holds the child's ``agent`` id,
        ``expiresAt``, ``grant``, ``onBehalfOf`` and ``tokenFile``. Raises :class:`CofreApiError` with code
        ``COFRE_DELEGATION_REFUSED`` naming each right asked for beyond this agent's.
        """
        body = _wire.delegate_body(name, accounts, actions, symbols, limits, ttl)
        response = self._send("POST", _wire.DELEGATE_PATH, body)
        minted = _wire.read_delegation(response.status_code, response.headers, response.content)
        path = write_token_file(token_file, minted.pop("token"))
        return {**minted, "tokenFile": path}
