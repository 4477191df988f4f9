#!/usr/bin/env python3
"""
Generates src/cofre_client/_generated.py from cofre's OpenAPI document: a TypedDict per action input (the request
body) and result (`components.schemas.<Pascal>Result`), the ActionResponse shape, one typed method per action for the
sync and the async client, and per-action metadata (name, description, input JSON Schema, write flag) that the
framework adapters build their tools from.

The document is the live one (`GET /v1/openapi.json`, which needs an agent token and lists only that agent's
actions: generate with an agent allowed every action) or a saved copy:

    python scripts/generate_types.py --url http://127.0.0.1:8787 --token-file agent.token
    python scripts/generate_types.py --from-file openapi.json
    python scripts/generate_types.py --from-file openapi.json --check    # exit 1 if _generated.py differs

Standard library only, so it runs before the package is installed. The output depends on nothing but the document:
the test tests/test_drift.py renders the live document and compares it with the committed module.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import pprint
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "src" / "cofre_client" / "_generated.py"
ACTION_PREFIX = "/v1/actions/"


Schema = dict[str, Any]


def pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-\s]+", snake) if part)


def snake(camel: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()
    s = re.sub(r"[^a-z0-9_]", "_", s)
    if keyword.iskeyword(s) or s in {"self", "wait", "approval_timeout"}:
        s += "_"
    return s


class Renderer:
    """Turns JSON Schemas (2020-12, as zod writes them) into TypedDicts, in first-use order."""

    def __init__(self, document: Schema) -> None:
        self.document = document
        self.components: Schema = document.get("components", {}).get("schemas", {})
        self.blocks: list[str] = []
        self.defined: set[str] = set()
        # Structure → name, so an object that appears in several places (an order in four results) is one type.
        self.shapes: dict[str, str] = {}

    def ref(self, ref: str, root: Schema) -> tuple[Schema, str | None]:
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            return self.components[name], name
        if ref.startswith("#/$defs/") or ref.startswith("#/definitions/"):
            _, section, name = ref.split("/", 2)
            return root[section][name], None
        raise ValueError(f"unsupported $ref {ref}")

    def type_of(self, schema: Schema, name: str, root: Schema, parent: str = "") -> str:
        """The Python type of a schema; an object becomes a TypedDict named `name` (or `parent + name` when `name`
        is taken by something else)."""
        if "$ref" in schema:
            target, component = self.ref(schema["$ref"], root)
            if component is not None and target.get("properties"):
                return self.define(target, component, self.components, component=True)
            if component is not None:
                return self.alias(target, component)
            return self.type_of(target, name, root, parent)
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            return _enum(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                kinds = {o.get("type") for o in options}
                if kinds == {"string", "number"} and len(options) == 2:
                    return "Decimalish"
                return self.union(
                    [
                        self.type_of(o, f"{name}{i + 1}" if len(options) > 1 else name, root, parent)
                        for i, o in enumerate(options)
                    ]
                )
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0], name, root, parent)
        kind = schema.get("type")
        if isinstance(kind, list):
            return self.union([self.type_of({**schema, "type": k}, name, root, parent) for k in kind])
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "null":
            return "None"
        if kind == "array":
            items = schema.get("items")
            return f"list[{self.type_of(items, singular(name), root, parent) if isinstance(items, dict) else 'Any'}]"
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                return self.define(schema, name, root, parent=parent)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"dict[str, {self.type_of(extra, singular(name), root, parent)}]"
            return "dict[str, Any]"
        return "Any"

    @staticmethod
    def union(types: list[str]) -> str:
        seen: list[str] = []
        for t in types:
            if t not in seen:
                seen.append(t)
        if "Any" in seen:
            return "Any"
        return seen[0] if len(seen) == 1 else " | ".join(seen)

    def alias(self, schema: Schema, name: str) -> str:
        """A component that is not an object (a union of results): a named alias of its type."""
        if name not in self.defined:
            self.defined.add(name)
            kind = self.type_of(schema, name, self.components, parent=name)
            if " | " in kind:
                kind = "Union[" + ", ".join(kind.split(" | ")) + "]"
            doc = f"#: {_docline(schema['description'])}\n" if schema.get("description") else ""
            self.blocks.append(f"{doc}{name} = {kind}\n")
        return name

    def define(self, schema: Schema, name: str, root: Schema, parent: str = "", component: bool = False) -> str:
        """Emits a TypedDict for an object schema (once per name, or per structure for inline objects) and returns
        its name. Components keep their own names; an inline object takes its property's name (`order` → `Order`)
        unless a component or another structure has it, then its parent's name before it."""
        shape = json.dumps(schema, sort_keys=True)
        if component:
            if name in self.defined:
                return name
        else:
            if shape in self.shapes:
                return self.shapes[shape]
            if name in self.defined or name in self.components:
                name = parent + name
            while name in self.defined or name in self.components:
                name += "_"
        self.defined.add(name)
        self.shapes.setdefault(shape, name)
        props: Schema = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = [(key, self.type_of(sub, pascal(key), root, parent=name), sub) for key, sub in props.items()]
        self.blocks.append(self.typed_dict(name, schema.get("description"), fields, required))
        return name

    @staticmethod
    def typed_dict(name: str, description: str | None, fields: list[tuple[str, str, Schema]], required: set[str]) -> str:
        must = [f for f in fields if f[0] in required]
        may = [f for f in fields if f[0] not in required]
        identifiers = all(k.isidentifier() and not keyword.iskeyword(k) for k, _, _ in fields)
        doc = f'    """{_docline(description)}"""\n\n' if description else ""
        if not identifiers:
            def entries(fs: list[tuple[str, str, Schema]]) -> str:
                return "{" + ", ".join(f"{k!r}: {t}" for k, t, _ in fs) + "}"
            if not may:
                return f"{name} = TypedDict({name!r}, {entries(must)})\n"
            base = f"_{name}Required"
            return (
                f"{base} = TypedDict({base!r}, {entries(must)})\n\n\n"
                f"class {name}({base}, total=False):\n{doc or '    pass'}\n"
                + "".join(f"    {k}: {t}\n" for k, t, _ in may if k.isidentifier())
            )

        def lines(fs: list[tuple[str, str, Schema]]) -> str:
            out = ""
            for key, kind, sub in fs:
                if sub.get("description"):
                    out += _comment(sub["description"])
                out += f"    {key}: {kind}\n"
            return out

        if not may:
            return f"class {name}(TypedDict):\n{doc}{lines(must) or '    pass'}\n"
        if not must:
            return f"class {name}(TypedDict, total=False):\n{doc}{lines(may)}\n"
        base = f"_{name}Required"
        return f"class {base}(TypedDict):\n{lines(must)}\n\nclass {name}({base}, total=False):\n{doc}{lines(may)}\n"


# An enum this long is a catalogue (the error codes), not a choice: typed as its base type, so a new code in cofre is
# not a change of the client's types.
MAX_LITERAL = 16


def _enum(values: list[Any]) -> str:
    if len(values) > MAX_LITERAL:
        kinds = {type(v) for v in values}
        return {str: "str", int: "int", float: "float"}.get(kinds.pop(), "Any") if len(kinds) == 1 else "Any"
    return "Literal[" + ", ".join(repr(v) for v in values) + "]"


def _comment(text: str, indent: int = 4, width: int = 118) -> str:
    words, lines, line = _docline(text).split(), [], ""
    for word in words:
        if line and indent + 3 + len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "".join(f"{' ' * indent}#: {part}\n" for part in lines)


def singular(name: str) -> str:
    """`Orders` → `Order`, for the items of an array or the values of a map named in the plural."""
    return name[:-1] if name.endswith("s") and not name.endswith("ss") and len(name) > 1 else name + "Item"


def _docline(text: str) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"""', "'''")


def actions_of(document: Schema) -> list[tuple[str, Schema]]:
    out = []
    for path, item in document.get("paths", {}).items():
        if path.startswith(ACTION_PREFIX) and "post" in item:
            out.append((path[len(ACTION_PREFIX):], item["post"]))
    return out


def body_schema(operation: Schema) -> Schema:
    try:
        return operation["requestBody"]["content"]["application/json"]["schema"]
    except KeyError:
        return {"type": "object", "properties": {}, "additionalProperties": False}


def is_write(name: str, operation: Schema) -> bool:
    """cofre marks each action operation `x-cofre-write` (WRITE_ACTIONS in src/broker/actions.ts)."""
    flag = operation.get("x-cofre-write")
    if not isinstance(flag, bool):
        raise ValueError(f"the operation of {name} has no boolean x-cofre-write: is this a cofre OpenAPI document?")
    return flag


def render(document: Schema) -> str:
    """The text of _generated.py for this document. Pure: the same document gives the same bytes."""
    r = Renderer(document)
    r.define(r.components["ActionResponse"], "ActionResponse", r.components, component=True)
    actions = []
    for name, op in actions_of(document):
        body = body_schema(op)
        input_type = r.define(body, pascal(name) + "Input", body, component=True) if body.get("properties") else None
        result_name = pascal(name) + "Result"
        result_schema = r.components.get(result_name)
        result_type = r.type_of({"$ref": f"#/components/schemas/{result_name}"}, result_name, r.components) if result_schema else "Any"
        actions.append((name, op, body, input_type, result_type, result_schema))

    out = [
        "# Generated by clients/python/scripts/generate_types.py from cofre's OpenAPI document",
        f"# (GET /v1/openapi.json, {document.get('info', {}).get('title', '')} API version "
        f"{document.get('info', {}).get('version', '?')}). Do not edit: regenerate.",
        "# fmt: off",
        '"""Types, methods and metadata of every cofre action, generated from the OpenAPI document."""',
        "",
        "from __future__ import annotations",
        "",
        "from decimal import Decimal",
        "from types import MappingProxyType",
        "from typing import Any, Literal, Mapping, TypedDict, Union, cast",
        "",
        "from ._action_spec import ActionSpec",
        "",
        "#: A positive decimal: a string like \"0.001\" (exact; preferred), a number, or a Decimal (sent as its string).",
        "Decimalish = Union[str, float, Decimal]",
        "",
        "",
    ]
    out = ["\n".join(out) + "\n"]
    out.append("\n\n".join(block.rstrip("\n") + "\n" for block in r.blocks))
    out.append("\n\n")
    out.append(render_specs(actions))
    out.append(render_methods(actions, asynchronous=False))
    out.append(render_methods(actions, asynchronous=True))
    names = ["Decimalish", "ActionResponse", "ACTIONS", "ACTION_NAMES", "WRITE_ACTIONS"] + sorted(
        n for n in r.defined if not n.startswith("_") and n != "ActionResponse"
    )
    out.append("\n__all__ = [\n" + "".join(f"    {n!r},\n" for n in names) + "]\n")
    return "".join(out)


def render_specs(actions: list[tuple[str, Schema, Schema, str | None, str, Schema | None]]) -> str:
    out = ["ACTIONS: Mapping[str, ActionSpec] = MappingProxyType({\n"]
    for name, op, body, _input_type, _result_type, result_schema in actions:
        params = tuple((snake(k), k) for k in body.get("properties", {}))
        out.append(f"    {name!r}: ActionSpec(\n")
        out.append(f"        name={name!r},\n")
        out.append(f"        method={name!r},\n")
        out.append(f"        description={_literal(op.get('description', ''), 8)},\n")
        out.append(f"        write={is_write(name, op)!r},\n")
        out.append(f"        params={params!r},\n")
        out.append(f"        input_schema={_literal(body, 8)},\n")
        out.append(f"        result_schema={_literal(result_schema, 8)},\n")
        out.append("    ),\n")
    out.append("})\n")
    out.append("#: Every action the document lists, in its order.\n")
    out.append("ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)\n")
    out.append("#: Actions that change state at the venue: never retried blindly; they may wait for an operator.\n")
    out.append("WRITE_ACTIONS: frozenset[str] = frozenset(n for n, spec in ACTIONS.items() if spec.write)\n\n\n")
    return "".join(out)


def _literal(value: Any, indent: int) -> str:
    text = pprint.pformat(value, indent=1, width=110 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def render_methods(actions: list[tuple[str, Schema, Schema, str | None, str, Schema | None]], asynchronous: bool) -> str:
    cls = "_AsyncActions" if asynchronous else "_SyncActions"
    adef = "async def" if asynchronous else "def"
    aw = "await " if asynchronous else ""
    out = [
        f"class {cls}:\n",
        f'    """One typed method per action, for the {"async" if asynchronous else "sync"} client. Each returns the '
        'result of an executed action and raises CofreDenied, CofrePendingApproval or CofreRequestFailed otherwise."""\n\n',
        f"    {adef} _action(self, name: str, body: dict[str, Any], *, wait: bool = False, "
        "approval_timeout: float | None = None) -> Any:\n",
        "        raise NotImplementedError\n",
    ]
    for name, op, body, _input_type, result_type, _ in actions:
        props: Schema = body.get("properties", {})
        required = set(body.get("required", []))
        sig = ["self", "*"]
        for key, sub in props.items():
            kind = _param_type(sub)
            if key in required:
                sig.append(f"{snake(key)}: {kind}")
        for key, sub in props.items():
            if key not in required:
                sig.append(f"{snake(key)}: {_param_type(sub)} | None = None")
        write = is_write(name, op)
        if write:
            sig += ["wait: bool = False", "approval_timeout: float | None = None"]
        if sig == ["self", "*"]:
            sig = ["self"]
        head = f"\n    {adef} {name}({', '.join(sig)}) -> {result_type}:\n"
        if len(head) > 112:
            head = f"\n    {adef} {name}(\n" + "".join(f"        {s},\n" for s in sig) + f"    ) -> {result_type}:\n"
        out.append(head)
        doc = _docline(op.get("description", ""))
        if write:
            doc += (
                " With wait=True, waits up to approval_timeout seconds (default 300) for an operator when the action "
                "is pending approval, instead of raising CofrePendingApproval."
            )
        out.append('        """' + _wrap(doc, 8) + '"""\n')
        # `wire`, not `body`: an action may have a parameter named body (http_request).
        out.append("        wire: dict[str, Any] = {" + ", ".join(f"{k!r}: {snake(k)}" for k in props if k in required) + "}\n")
        for key in props:
            if key not in required:
                out.append(f"        if {snake(key)} is not None:\n            wire[{key!r}] = {snake(key)}\n")
        extra = ", wait=wait, approval_timeout=approval_timeout" if write else ""
        call = f"{aw}self._action({name!r}, wire{extra})"
        out.append(f"        return cast({result_type!r}, {call})\n" if result_type != "Any" else f"        return {call}\n")
    out.append("\n\n")
    return "".join(out)


def _param_type(schema: Schema) -> str:
    """Parameter annotations: scalar and literal types only (nested objects come in as plain dicts)."""
    if "enum" in schema:
        return _enum(schema["enum"])
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    for key in ("anyOf", "oneOf"):
        if key in schema and {o.get("type") for o in schema[key]} == {"string", "number"}:
            return "Decimalish"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list[Any]"}.get(
        str(schema.get("type")), "Any"
    )


def _wrap(text: str, indent: int, width: int = 112) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) + indent > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return ("\n" + " " * indent).join(lines) + ("\n" + " " * indent if len(lines) > 1 else "")


def fetch(url: str, token_file: str) -> Schema:
    """GET <url>/v1/openapi.json with the agent token read from token_file (never from argv or env)."""
    token = Path(token_file).read_text(encoding="utf-8").strip()
    request = urllib.request.Request(
        url.rstrip("/") + "/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the URL is the caller's cofre)
        document: Schema = json.load(response)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-file", help="a saved OpenAPI document (JSON)")
    source.add_argument("--url", help="cofre's base URL, e.g. http://127.0.0.1:8787")
    parser.add_argument("--token-file", default=os.environ.get("COFRE_TOKEN_FILE"), help="agent token file (--url)")
    parser.add_argument("--output", default=str(OUTPUT), help=f"default: {OUTPUT}")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the output differs")
    args = parser.parse_args(argv)
    if args.url:
        if not args.token_file:
            parser.error("--url needs --token-file (or COFRE_TOKEN_FILE)")
        document = fetch(args.url, args.token_file)
    else:
        document = json.loads(Path(args.from_file).read_text(encoding="utf-8"))
    text = render(document)
    target = Path(args.output)
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run scripts/generate_types.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(actions_of(document))} actions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
