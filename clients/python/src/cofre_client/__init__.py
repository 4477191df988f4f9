"""
cofre-client: a typed Python client for cofre, the credential broker for trading agents.

    from cofre_client import CofreClient

    with CofreClient(token_file="agent.token") as cofre:
        print(cofre.get_balance(account="paper"))

Every action is a typed method on :class:`CofreClient` and :class:`AsyncCofreClient`; inputs and results are
TypedDicts generated from cofre's OpenAPI document (``cofre_client.types``). ``ACTIONS`` describes each action (name,
description, input JSON Schema, write flag) for framework adapters.
"""

from ._action_spec import ActionSpec
from ._async_client import AsyncCofreClient
from ._client import CofreClient
from ._errors import (
    CofreApiError,
    CofreApprovalTimeout,
    CofreConfigError,
    CofreDenied,
    CofreError,
    CofrePendingApproval,
    CofreRateLimited,
    CofreRequestFailed,
    CofreResponseError,
    CofreTransportError,
    CofreUnauthenticated,
)
from ._generated import ACTION_NAMES, ACTIONS, WRITE_ACTIONS, ActionResponse
from ._token import TOKEN_FILE_ENV, read_token_file

__version__ = "0.1.0"

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "WRITE_ACTIONS",
    "ActionResponse",
    "ActionSpec",
    "AsyncCofreClient",
    "CofreApiError",
    "CofreApprovalTimeout",
    "CofreClient",
    "CofreConfigError",
    "CofreDenied",
    "CofreError",
    "CofrePendingApproval",
    "CofreRateLimited",
    "CofreRequestFailed",
    "CofreResponseError",
    "CofreTransportError",
    "CofreUnauthenticated",
    "TOKEN_FILE_ENV",
    "read_token_file",
]
