"""The OpenAI Agents SDK (Python) reaching cofre's /mcp with no token configured: its MCPServerStreamableHttp, whose
streams carry the Python `mcp` package's ClientCredentialsOAuthProvider (an httpx.Auth), as the README shows.
Prints one JSON object: the tools listed and the structured answer of get_balance.

Environment: MCP_URL, OAUTH_ISSUER, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET.
"""

import asyncio
import json
import os

from agents.mcp import MCPServerStreamableHttp
from mcp.client.streamable_http import streamablehttp_client
from oauth_env import MemoryStorage, provider_from_env



class OAuthMCPServer(MCPServerStreamableHttp):
    """MCPServerStreamableHttp whose HTTP client authenticates with `auth`."""

    def __init__(self, url: str, auth, name: str) -> None:
        super().__init__(params={"url": url}, name=name)
        self._auth = auth

    def create_streams(self):
        return streamablehttp_client(url=self.params["url"], auth=self._auth)


async def main() -> None:
    url = os.environ["MCP_URL"]
    auth = provider_from_env(MemoryStorage())
    server = OAuthMCPServer(url, auth, "cofre")
    await server.connect()
    try:
        tools = [tool.name for tool in await server.list_tools()]
        balance = await server.call_tool("get_balance", {"account": "paper"})
    finally:
        await server.cleanup()
    print(json.dumps({"tools": tools, "isError": balance.isError, "structured": balance.structuredContent}))


asyncio.run(main())
