"""Where a client's cofre serves MCP, and the header that authenticates the agent there, for the MCP routes of the
OpenAI Agents SDK and langchain-mcp-adapters (both take the endpoint as a URL and headers).

SECURITY: the header holds the agent's token; it is built only when an MCP client is created and handed straight to
it, never logged or put in an error.
"""

from __future__ import annotations

from typing import Dict, Union

from ._async_client import AsyncCofreClient
from ._client import CofreClient


def mcp_url(client: Union[CofreClient, AsyncCofreClient]) -> str:
    """`<base_url>/mcp` of `client`."""
    return f"{client.base_url}/mcp"


def mcp_headers(client: Union[CofreClient, AsyncCofreClient]) -> Dict[str, str]:
    """The Authorization header with `client`'s agent token."""
    return dict(client.bearer_headers())
