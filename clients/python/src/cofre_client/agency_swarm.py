"""cofre's actions as Agency Swarm tools: one `BaseTool` subclass per action, the framework's own tool form.

    from cofre_client import CofreClient
    from cofre_client.agency_swarm import tools

    client = CofreClient("http://127.0.0.1:8787", token_file="agent.token")
    trader = Agent(name="Trader", instructions="...", tools=tools(client))

Each class is named after the action (`get_balance`, `place_order`, ...), its docstring is cofre's description
of the action and its fields are cofre's input schema, so Agency Swarm validates the model's arguments before
`run()`; the schema the model sees is cofre's own, unchanged. `run()` returns cofre's answer as JSON text after
cofre's data notice: a denial, a pending approval or a venue failure is an answer for the model to read, not an
error. Agency Swarm 0.7 runs tools synchronously, so these take the sync `CofreClient`.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, Optional, Type, cast

try:
    from agency_swarm.tools import BaseTool  # type: ignore[import-untyped]  # agency-swarm 0.7 ships no py.typed
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "cofre_client.agency_swarm needs Agency Swarm: pip install 'cofre-client[agency-swarm]'"
    ) from err

from ._client import CofreClient
from ._schema_model import input_model, subclass
from ._tool_call import call_text
from ._tool_spec import ToolSpec, actions_in_openapi, select_specs

__all__ = ["tools", "tool_class"]


class _ClassProperty:
    """Agency Swarm reads `openai_schema` on the class; this lets each tool class answer with cofre's schema (a fresh
    copy each time: Agency Swarm may change the one it gets)."""

    def __init__(self, schema: Dict[str, Any]) -> None:
        self._schema = schema

    def __get__(self, instance: Any, owner: Any) -> Dict[str, Any]:
        return copy.deepcopy(self._schema)


def tool_class(client: CofreClient, spec: ToolSpec) -> Type[BaseTool]:
    """The Agency Swarm tool for one action, calling cofre through `client` (a sync CofreClient)."""
    model = input_model(spec.name, spec.input_schema, base=BaseTool, doc=spec.description)

    def run(self: BaseTool) -> str:
        return call_text(client, spec.name, self.model_dump(exclude_none=True))

    schema = {"name": spec.name, "description": spec.description, "parameters": spec.schema_copy()}
    namespace = {
        "__doc__": spec.description,
        "__module__": __name__,
        "run": run,
        # Agency Swarm would derive the schema from the pydantic model (adding titles, nullable optionals); the model
        # is better served by cofre's exact schema, the one cofre validates against.
        "openai_schema": _ClassProperty(schema),
    }
    return subclass(spec.name, cast(Type[BaseTool], model), namespace)


def tools(client: CofreClient, actions: Optional[Iterable[str]] = None) -> List[Type[BaseTool]]:
    """One tool class per action the agent may use (asked of cofre once), or per action named in `actions`.

    An unknown action name raises ValueError; with `actions` given, cofre is not asked.
    """
    if not isinstance(client, CofreClient):
        raise TypeError(
            f"cofre_client.agency_swarm.tools needs a CofreClient (Agency Swarm runs tools synchronously), "
            f"not {type(client).__name__}"
        )
    allowed = None if actions is not None else actions_in_openapi(client.openapi())
    return [tool_class(client, spec) for spec in select_specs(actions, allowed)]
