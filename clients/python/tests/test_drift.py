"""
The generated types cannot drift from cofre: the module in the package must be exactly what the generator makes of
the LIVE OpenAPI document of the running cofre (so a schema change without `scripts/generate_types.py` fails here),
and every action in that document must have a typed method on both clients.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import cofre_client
from cofre_client import ACTIONS, AsyncCofreClient, CofreClient
from cofre_stack import CofreStack

PACKAGE = Path(__file__).resolve().parents[1]
GENERATED = PACKAGE / "src" / "cofre_client" / "_generated.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_types", PACKAGE / "scripts" / "generate_types.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_types"] = module
    spec.loader.exec_module(module)
    return module


def test_the_generated_module_is_what_the_live_document_generates(client: CofreClient) -> None:
    document = client.openapi()
    expected = generator().render(document)
    current = GENERATED.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(True), expected.splitlines(True), "_generated.py (committed)", "from the live document"
            )
        )
        raise AssertionError(
            "src/cofre_client/_generated.py is out of date with cofre's OpenAPI document; regenerate it "
            "(python clients/python/scripts/generate_types.py --url <cofre> --token-file <file>):\n" + diff[:6000]
        )
    # And the package under test has that module (an install from an older checkout would not).
    installed = Path(cofre_client.__file__).resolve().parent / "_generated.py"
    assert installed.read_text(encoding="utf-8") == current, f"{installed} is not this checkout's: reinstall it"


def test_every_action_in_the_live_document_has_a_typed_method(client: CofreClient, cofre: CofreStack) -> None:
    document = client.openapi()
    actions = sorted(p.removeprefix("/v1/actions/") for p in document["paths"] if p.startswith("/v1/actions/"))
    assert len(actions) >= 13, "the test agent should be allowed every action"
    assert sorted(ACTIONS) == actions
    for name in actions:
        operation = document["paths"][f"/v1/actions/{name}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        for cls in (CofreClient, AsyncCofreClient):
            method = getattr(cls, name, None)
            assert callable(method), f"{cls.__name__} has no method {name}"
            assert inspect.iscoroutinefunction(method) == (cls is AsyncCofreClient)
            params = inspect.signature(method).parameters
            wire = {ACTIONS[name].params[i][1]: p for i, p in enumerate(n for n, _ in ACTIONS[name].params)}
            assert set(wire) == set(body.get("properties", {})), name
            for field, keyword in wire.items():
                assert keyword in params, f"{cls.__name__}.{name} lacks {keyword} for {field}"
                required = field in body.get("required", [])
                assert (params[keyword].default is inspect.Parameter.empty) == required, (name, field)
        assert ACTIONS[name].description == operation["description"]
        assert ACTIONS[name].input_schema == body


def test_the_generator_is_deterministic_and_flags_a_changed_schema(client: CofreClient) -> None:
    gen = generator()
    document = client.openapi()
    assert gen.render(document) == gen.render(document)
    # A schema change (a new required field) changes the module: the first test would fail on it.
    import copy

    changed = copy.deepcopy(document)
    schema = changed["paths"]["/v1/actions/get_balance"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["venue"] = {"type": "string"}
    schema["required"].append("venue")
    assert gen.render(changed) != gen.render(document)
    assert "venue: str" in gen.render(changed)
