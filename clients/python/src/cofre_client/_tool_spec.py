"""Which actions become tools, and what each tool says about itself: the one place the framework adapters read the
client's generated action metadata and ask the server which actions the agent has.

Why ask the server: an agent's policy may never allow some actions (a read-only agent cannot place orders), and a
tool the model can see but never use wastes its turns. cofre lists exactly the agent's own actions in
`GET /v1/openapi.json` (the same filter MCP `tools/list` applies), so the adapters offer those, once, when the tools
are built. `list_accounts` would not do: it names accounts, not actions. The schemas and descriptions themselves come
from the metadata generated from cofre's own action definitions (src/broker/actions.ts), which a test keeps equal to
the live document, so building tools needs no network beyond that one listing, and none at all when the caller
names the actions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

_ACTION_PATH = "/v1/actions/"


@dataclass(frozen=True)
class ToolSpec:
    """One action as a tool: cofre's name, description (written for a model) and input JSON Schema."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    write: bool

    def schema_copy(self) -> Dict[str, Any]:
        """A copy of the input schema a framework may keep or change without touching the shared metadata."""
        return copy.deepcopy(dict(self.input_schema))


def _catalogue() -> Mapping[str, ToolSpec]:
    from . import ACTIONS  # generated from cofre's OpenAPI document by the client's generator

    return {
        meta.name: ToolSpec(
            name=meta.name,
            description=meta.description,
            input_schema=meta.input_schema,
            write=meta.write,
        )
        for meta in ACTIONS.values()
    }


def known_actions() -> List[str]:
    """Every action this client version knows, in cofre's order."""
    return list(_catalogue())


def actions_in_openapi(document: Mapping[str, Any]) -> List[str]:
    """The action names an agent's OpenAPI document lists (it lists only that agent's own)."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise ValueError("cofre's OpenAPI document has no paths")
    return [path[len(_ACTION_PATH) :] for path in paths if path.startswith(_ACTION_PATH)]


def select_specs(actions: Optional[Iterable[str]], allowed: Optional[Sequence[str]]) -> List[ToolSpec]:
    """The specs for `actions` (all the agent's when None), in cofre's order.

    `allowed` is what the server listed for the agent, or None when the caller named the actions. A name this
    client does not know is an error (a typo must not silently drop a tool); an action the server lists that this
    client does not know is skipped (a server newer than the client), as is one the agent does not have.
    """
    catalogue = _catalogue()
    if actions is not None:
        if isinstance(actions, str):
            raise TypeError("actions must be a list of action names, not one string")
        wanted = list(actions)
        unknown = [name for name in wanted if name not in catalogue]
        if unknown:
            raise ValueError(f"unknown cofre action(s) {unknown}; known: {', '.join(catalogue)}")
        chosen = set(wanted)
    else:
        chosen = set(catalogue)
    if allowed is not None:
        chosen &= set(allowed)
    return [spec for name, spec in catalogue.items() if name in chosen]
