"""The OpenAI Agents SDK (Python) reaching cofre's /mcp with no token configured: its MCPServerStreamableHttp, whose
streams carry the Python `mcp` package's ClientCredentialsOAuthProvider (an httpx.Auth), as the README shows.
Prints one JSON object: the tools listed and the structured answer of get_balance.

Environment: MCP_URL, OAUTH_ISSUER, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET.
"""

import asyncio
import json
import os

from agents.mcp import MCPServerStreamableHttp
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class MemoryStorage:
    """Tokens live in this process only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class OAuthMCPServer(MCPServerStreamableHttp):
    """MCPServerStreamableHttp whose HTTP client authenticates with `auth`."""

    def __init__(self, url: str, auth, name: str) -> None:
        super().__init__(params={"url": url}, name=name)
        self._auth = auth

    def create_streams(self):
        return streamablehttp_client(url=self.params["url"], auth=self._auth)


async def main() -> None:
    url = os.environ["MCP_URL"]
    auth = ClientCredentialsOAuthProvider(
        server_url=url,
        storage=MemoryStorage(),
        client_id=os.environ["OAUTH_CLIENT_ID"],
        client_secret=os.environ["OAUTH_CLIENT_SECRET"],
        issuer=os.environ["OAUTH_ISSUER"],
    )
    server = OAuthMCPServer(url, auth, "cofre")
    await server.connect()
    try:
        tools = [tool.name for tool in await server.list_tools()]
        balance = await server.call_tool("get_balance", {"account": "paper"})
    finally:
        await server.cleanup()
    print(json.dumps({"tools": tools, "isError": balance.isError, "structured": balance.structuredContent}))


asyncio.run(main())
