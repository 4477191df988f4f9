"""cofre's actions as LangChain tools: one `StructuredTool` per action, or cofre's MCP server through
langchain-mcp-adapters.

    from cofre_client import CofreClient, AsyncCofreClient
    from cofre_client.langchain import tools, atools, mcp_client

    lc_tools = tools(CofreClient(url, token_file="agent.token"))                # invoke() and ainvoke()
    lc_tools = await atools(AsyncCofreClient(url, token_file="agent.token"))    # ainvoke() only
    # or over MCP:
    lc_tools = await mcp_client(client).get_tools()

Each tool has cofre's name and description, and an `args_schema` built from cofre's input schema, so LangChain
validates the model's arguments before calling cofre (LangGraph's ToolNode shows a validation error to the model).
The tool's output is cofre's answer as JSON text after cofre's data notice: a denial, a pending approval or a venue
failure is an answer for the model to read, never an exception.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Union

try:
    from langchain_core.tools import StructuredTool
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError("cofre_client.langchain needs LangChain: pip install 'cofre-client[langchain]'") from err

from ._async_client import AsyncCofreClient
from ._client import CofreClient
from ._mcp_endpoint import mcp_headers, mcp_url
from ._schema_model import input_model
from ._tool_call import acall_text, call_text
from ._tool_spec import ToolSpec, actions_in_openapi, select_specs

__all__ = ["tools", "atools", "structured_tool", "mcp_connection", "mcp_client"]


def structured_tool(client: Union[CofreClient, AsyncCofreClient], spec: ToolSpec) -> StructuredTool:
    """The StructuredTool for one action, calling cofre through `client`: sync (`invoke`, and `ainvoke` in a thread)
    on a CofreClient, async (`ainvoke`) on an AsyncCofreClient."""

    def arguments(kwargs: Dict[str, Any]) -> Dict[str, Any]:
        # StructuredTool passes the validated fields; an optional field the model left out may arrive as None, which
        # cofre's schemas do not take.
        return {key: value for key, value in kwargs.items() if value is not None}

    if isinstance(client, AsyncCofreClient):
        aclient = client

        async def arun(**kwargs: Any) -> str:
            return await acall_text(aclient, spec.name, arguments(kwargs))

        func, coroutine = None, arun
    else:
        sclient = client

        def run(**kwargs: Any) -> str:
            return call_text(sclient, spec.name, arguments(kwargs))

        func, coroutine = run, None
    return StructuredTool.from_function(
        func=func,
        coroutine=coroutine,
        name=spec.name,
        description=spec.description,
        args_schema=input_model(spec.name, spec.input_schema, doc=spec.description),
        infer_schema=False,
    )


def tools(client: CofreClient, actions: Optional[Iterable[str]] = None) -> List[StructuredTool]:
    """One tool per action the agent may use (asked of cofre once), or per action named in `actions`, on a sync
    CofreClient. `ainvoke` works too (LangChain runs the call in a thread).

    An unknown action name raises ValueError; with `actions` given, cofre is not asked.
    """
    if not isinstance(client, CofreClient):
        raise TypeError(
            f"cofre_client.langchain.tools needs a CofreClient (for an AsyncCofreClient, await atools(client)), "
            f"not {type(client).__name__}"
        )
    allowed = None if actions is not None else actions_in_openapi(client.openapi())
    return [structured_tool(client, spec) for spec in select_specs(actions, allowed)]


async def atools(client: AsyncCofreClient, actions: Optional[Iterable[str]] = None) -> List[StructuredTool]:
    """As `tools`, on an AsyncCofreClient: the tools are async (`ainvoke`)."""
    if not isinstance(client, AsyncCofreClient):
        raise TypeError(
            f"cofre_client.langchain.atools needs an AsyncCofreClient (for a CofreClient, use tools(client)), "
            f"not {type(client).__name__}"
        )
    allowed = None if actions is not None else actions_in_openapi(await client.openapi())
    return [structured_tool(client, spec) for spec in select_specs(actions, allowed)]


def mcp_connection(client: Union[CofreClient, AsyncCofreClient]) -> Dict[str, Any]:
    """The langchain-mcp-adapters connection to cofre's `/mcp` (Streamable HTTP) with the client's token."""
    return {"transport": "streamable_http", "url": mcp_url(client), "headers": mcp_headers(client)}


def mcp_client(client: Union[CofreClient, AsyncCofreClient], name: str = "cofre") -> Any:
    """A `MultiServerMCPClient` with cofre as its one server, named `name`; `await .get_tools()` lists the agent's
    tools. Needs langchain-mcp-adapters (in the `langchain` extra)."""
    try:
        from langchain_mcp_adapters.client import MultiServerMCPClient
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "cofre_client.langchain.mcp_client needs langchain-mcp-adapters: pip install 'cofre-client[langchain]'"
        ) from err
    return MultiServerMCPClient({name: mcp_connection(client)})  # type: ignore[dict-item]
