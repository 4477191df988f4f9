"""A pydantic model for one action's input, built from cofre's JSON Schema for it.

Agency Swarm tools are pydantic models and LangChain validates a StructuredTool's input with one, so both adapters
need a model per action. Building it from the JSON Schema (not writing twenty classes by hand) keeps it what cofre
publishes. Only the constructs cofre's schemas use are understood; anything else is an error naming the action and
the field, so a schema change that this code does not understand fails loudly instead of typing a field wrongly.
The server validates again (with the rules JSON Schema cannot say, e.g. "exactly one of orderId and clientOrderId").
"""

from __future__ import annotations

import types
from typing import Any, Dict, List, Literal, Mapping, Optional, Set, Tuple, Type, TypeVar, Union, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model
from typing_extensions import Annotated

_OBJECT_KEYS = {"type", "properties", "required", "additionalProperties", "description", "$schema"}
_STRING_KEYS = {"type", "minLength", "maxLength", "pattern", "enum", "description"}
_NUMBER_KEYS = {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "description"}


_Model = TypeVar("_Model", bound=BaseModel)


class UnsupportedSchemaError(ValueError):
    """cofre published a schema construct the adapters do not translate yet (a client older than the server)."""


def input_model(
    name: str, schema: Mapping[str, Any], base: Type[BaseModel] = BaseModel, doc: str = ""
) -> Type[BaseModel]:
    """The model for an action's input `schema` (a JSON Schema object), named `name`, subclassing `base`.

    Optional fields default to None; callers send `model_dump(exclude_none=True)`, so a None never reaches cofre
    (whose schemas have no nullable field). `additionalProperties: false` becomes `extra="forbid"`.
    """
    _check_keys(name, "", schema, _OBJECT_KEYS)
    if schema.get("type") != "object":
        raise UnsupportedSchemaError(f"{name}: the input schema is not an object")
    required = set(schema.get("required", []))
    fields: Dict[str, Tuple[Any, Any]] = {}
    for field_name, field_schema in schema.get("properties", {}).items():
        annotation = _annotation(name, field_name, field_schema)
        description = field_schema.get("description")
        if field_name in required:
            fields[field_name] = (annotation, Field(..., description=description))
        else:
            fields[field_name] = (Optional[annotation], Field(None, description=description))
    extra: Literal["forbid", "ignore"] = "forbid" if schema.get("additionalProperties") is False else "ignore"
    # create_model takes no config beside a base, so the config rides on an intermediate class; subclass configs
    # are merged with the base's, so Agency Swarm's BaseTool keeps its own.
    configured = subclass(name, base, {"model_config": ConfigDict(extra=extra), "__module__": __name__})
    model: Type[BaseModel] = create_model(  # type: ignore[call-overload]
        name, __base__=configured, __module__=__name__, __doc__=doc, **fields
    )
    return model


def subclass(name: str, base: Type[_Model], namespace: Mapping[str, Any]) -> Type[_Model]:
    """A subclass of a pydantic model made at run time, through the model's metaclass (as a class statement does)."""
    return cast(Type[_Model], types.new_class(name, (base,), exec_body=lambda ns: ns.update(namespace)))


def _annotation(action: str, field: str, schema: Mapping[str, Any]) -> Any:
    # A default is cofre's to apply: the client leaves the field out (None is never sent), and cofre fills it in.
    schema = {key: value for key, value in schema.items() if key != "default"}
    if "anyOf" in schema:
        _check_keys(action, field, schema, {"anyOf", "description"})
        members = tuple(
            _annotation(action, field, member if "properties" not in member else {**member, "$name": f"{i}"})
            for i, member in enumerate(schema["anyOf"])
        )
        return Union[members]
    if "const" in schema:
        _check_keys(action, field, schema, {"const", "type", "description"})
        return Literal[schema["const"]]
    kind = schema.get("type")
    if kind == "string":
        _check_keys(action, field, schema, _STRING_KEYS)
        if "enum" in schema:
            return Literal[tuple(schema["enum"])]
        return Annotated[
            str,
            StringConstraints(
                min_length=schema.get("minLength"),
                max_length=schema.get("maxLength"),
                pattern=schema.get("pattern"),
            ),
        ]
    if kind in ("number", "integer"):
        _check_keys(action, field, schema, _NUMBER_KEYS)
        bounds = Field(
            ge=schema.get("minimum"),
            le=schema.get("maximum"),
            gt=schema.get("exclusiveMinimum"),
            lt=schema.get("exclusiveMaximum"),
        )
        if kind == "integer":
            return Annotated[int, bounds]
        # An int stays an int (1, not 1.0) on its way to cofre.
        return Union[Annotated[int, bounds], Annotated[float, bounds]]
    if kind == "boolean":
        _check_keys(action, field, schema, {"type", "description"})
        return bool
    if kind == "object" and "properties" in schema:
        # A nested object with named fields (send_transaction's call, sign_typed_data's typedData): a model of its own,
        # named after the action and the field (and its place in a union, which pydantic needs to tell them apart).
        suffix = schema.get("$name", "")
        nested = {key: value for key, value in schema.items() if key != "$name"}
        return input_model(f"{action}_{field}{suffix}", nested)
    if kind == "object":
        # A map (http_request's query and headers, a JSON body): keys as propertyNames says, values as
        # additionalProperties; `{}` for either means any JSON.
        _check_keys(action, field, schema, {"type", "description", "propertyNames", "additionalProperties"})
        keys = _annotation(action, field, schema.get("propertyNames", {"type": "string"}))
        values = schema.get("additionalProperties", {})
        return cast(Any, Dict)[keys, _annotation(action, field, values) if values else Any]
    if kind == "array":
        _check_keys(action, field, schema, {"type", "description", "items", "minItems", "maxItems"})
        items = schema.get("items", {})
        return Annotated[
            cast(Any, List)[_annotation(action, field, items) if items else Any],
            Field(min_length=schema.get("minItems"), max_length=schema.get("maxItems")),
        ]
    if kind is None and not schema:
        return Any
    raise UnsupportedSchemaError(f"{action}.{field}: unsupported schema type {kind!r}")


def _check_keys(action: str, field: str, schema: Mapping[str, Any], allowed: Set[str]) -> None:
    unknown = sorted(set(schema) - allowed)
    if unknown:
        where = f"{action}.{field}" if field else action
        raise UnsupportedSchemaError(f"{where}: unsupported schema keywords {unknown}")
