"""The Python `mcp` client, as an agent runs it: it holds a client id and secret registered at the authorization
server, never a token. It connects to the MCP URL, follows the 401 to the authorization server by itself
(ClientCredentialsOAuthProvider), lists the tools and calls those named, then prints one JSON object: the requests
it made (method, URL, status, whether it sent a bearer token; of the token request only grant_type and resource),
the claims of the access token it obtained (never the token) and the structured answers of the tools.

Environment: MCP_URL, OAUTH_ISSUER, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET; argv: a JSON list of
[tool, arguments] pairs.
"""

import asyncio
import base64
import json
import os
import sys
from urllib.parse import parse_qs

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared._httpx_utils import create_mcp_http_client
from oauth_env import MemoryStorage, provider_from_env



def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def main() -> None:
    calls = json.loads(sys.argv[1])
    sent: list[dict] = []

    async def record(response: httpx.Response) -> None:
        request = response.request
        entry = {
            "method": request.method,
            "url": str(request.url),
            "status": response.status_code,
            "authorized": request.headers.get("authorization", "").startswith("Bearer "),
        }
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(request.content.decode())
            entry["form"] = {k: form[k][0] for k in ("grant_type", "resource", "scope") if k in form}
        sent.append(entry)

    def client_factory(headers=None, timeout=None, auth=None) -> httpx.AsyncClient:
        client = create_mcp_http_client(headers=headers, timeout=timeout, auth=auth)
        client.event_hooks["response"].append(record)
        return client

    storage = MemoryStorage()
    provider = provider_from_env(storage)
    answers = []
    async with streamablehttp_client(os.environ["MCP_URL"], auth=provider, httpx_client_factory=client_factory) as (
        read,
        write,
        _,
    ):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                answers.append({"tool": name, "isError": result.isError, "structured": result.structuredContent})
    token = storage.tokens.access_token if storage.tokens else None
    print(json.dumps({"sent": sent, "claims": claims_of(token) if token else None, "tools": tools, "answers": answers}))


asyncio.run(main())
