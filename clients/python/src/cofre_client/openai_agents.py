"""cofre's actions as OpenAI Agents SDK tools: one `FunctionTool` per action, or cofre's MCP server.

    from cofre_client import AsyncCofreClient
    from cofre_client.openai_agents import tools, mcp_server

    client = AsyncCofreClient("http://127.0.0.1:8787", token_file="agent.token")
    agent = Agent(name="Trader", instructions="...", tools=await tools(client))
    # or, over MCP (the SDK lists and calls the tools itself):
    async with mcp_server(client) as cofre:
        agent = Agent(name="Trader", instructions="...", mcp_servers=[cofre])

Each FunctionTool has cofre's name, description and input schema, unchanged. `strict_json_schema` is off: the SDK's
strict mode makes every field required (a market order would then have to carry a `price`, which cofre refuses), so
cofre's optional fields would have to become nullable ones, a schema cofre does not publish. cofre validates every
call itself and answers bad input as data (`COFRE_INPUT_INVALID` with what is wrong), so the model learns what to
fix. A denial, a pending approval or a venue failure is returned to the model as cofre's answer,
after cofre's data notice; it never ends the run.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Optional, Union

try:
    from agents import FunctionTool
    from agents.mcp import MCPServerStreamableHttp
    from agents.tool_context import ToolContext
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "cofre_client.openai_agents needs the OpenAI Agents SDK: pip install 'cofre-client[openai-agents]'"
    ) from err

from ._async_client import AsyncCofreClient
from ._client import CofreClient
from ._mcp_endpoint import mcp_headers, mcp_url
from ._tool_call import acall_text
from ._tool_spec import ToolSpec, actions_in_openapi, select_specs

__all__ = ["tools", "function_tool_for", "mcp_server"]


def function_tool_for(client: AsyncCofreClient, spec: ToolSpec) -> FunctionTool:
    """The FunctionTool for one action, calling cofre through `client` (an AsyncCofreClient)."""

    async def on_invoke_tool(context: ToolContext[Any], arguments: str) -> str:
        try:
            args = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError as err:
            return f"The arguments for {spec.name} are not valid JSON ({err.msg}); nothing was sent to cofre."
        if not isinstance(args, dict):
            return f"The arguments for {spec.name} must be a JSON object; nothing was sent to cofre."
        # cofre's fields are optional, never nullable: a null the model sent for a field it meant to leave out is
        # left out.
        return await acall_text(client, spec.name, {key: value for key, value in args.items() if value is not None})

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.schema_copy(),
        on_invoke_tool=on_invoke_tool,
        strict_json_schema=False,
    )


async def tools(client: AsyncCofreClient, actions: Optional[Iterable[str]] = None) -> List[FunctionTool]:
    """One FunctionTool per action the agent may use (asked of cofre once), or per action named in `actions`.

    An unknown action name raises ValueError; with `actions` given, cofre is not asked.
    """
    if not isinstance(client, AsyncCofreClient):
        raise TypeError(
            f"cofre_client.openai_agents.tools needs an AsyncCofreClient (the SDK awaits its tools), "
            f"not {type(client).__name__}"
        )
    allowed = None if actions is not None else actions_in_openapi(await client.openapi())
    return [function_tool_for(client, spec) for spec in select_specs(actions, allowed)]


def mcp_server(client: Union[CofreClient, AsyncCofreClient], **kwargs: Any) -> MCPServerStreamableHttp:
    """The SDK's documented MCP route to cofre: `MCPServerStreamableHttp` on the client's `/mcp` with its token.

    Use it as an async context manager (it connects on entry). Extra keyword arguments go to
    MCPServerStreamableHttp (e.g. `cache_tools_list=True`); its name defaults to "cofre".
    """
    kwargs.setdefault("name", "cofre")
    return MCPServerStreamableHttp(params={"url": mcp_url(client), "headers": mcp_headers(client)}, **kwargs)
