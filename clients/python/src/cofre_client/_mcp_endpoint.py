"""Where a client's cofre serves MCP, and the header that authenticates the agent there, for the MCP routes of the
OpenAI Agents SDK and langchain-mcp-adapters (both take the endpoint as a URL and headers).

SECURITY: the header holds the agent's token; it is built only when an MCP client is created and handed straight to
it, never logged or put in an error.
"""

from __future__ import annotations

from typing import Any, Dict


def mcp_url(client: Any) -> str:
    """`<base_url>/mcp` of `client`."""
    return f"{str(client.base_url).rstrip('/')}/mcp"


def mcp_headers(client: Any) -> Dict[str, str]:
    """The Authorization header with `client`'s agent token."""
    return dict(client.bearer_headers())
