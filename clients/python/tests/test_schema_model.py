"""The JSON Schema to pydantic translation the Agency Swarm and LangChain tools validate with: what it takes, and a
clear refusal, naming the action and the field, of what it does not understand (a server newer than the client)."""

from __future__ import annotations

import pytest
from cofre_client import ACTIONS
from cofre_client._schema_model import UnsupportedSchemaError, input_model
from pydantic import ValidationError


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_actions_schema_translates(name: str) -> None:
    spec = ACTIONS[name]
    model = input_model(name, spec.input_schema, doc=spec.description)
    assert model.__name__ == name
    assert model.__doc__ == spec.description
    assert set(model.model_fields) == set(spec.input_schema.get("properties", {}))


def test_amounts_keep_their_form_and_optional_fields_are_left_out() -> None:
    model = input_model("preview_order", ACTIONS["preview_order"].input_schema)
    base = {"account": "paper", "symbol": "BTC/USDT", "side": "buy", "type": "market"}
    assert model(**base, amount=1).model_dump(exclude_none=True)["amount"] == 1  # an int, not 1.0
    assert model(**base, amount="0.001").model_dump(exclude_none=True)["amount"] == "0.001"
    assert "price" not in model(**base, amount="0.001").model_dump(exclude_none=True)
    with pytest.raises(ValidationError):
        model(**base, amount=-1)  # exclusiveMinimum 0
    with pytest.raises(ValidationError):
        model(**{**base, "side": "hold"}, amount=1)  # enum


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array"}, "place_order: the input schema is not an object"),
        ({"type": "object", "properties": {"tags": {"type": "null"}}}, "place_order.tags: unsupported schema type"),
        (
            {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}},
            "place_order.id: unsupported schema keywords ['format']",
        ),
        ({"type": "object", "oneOf": []}, "place_order: unsupported schema keywords ['oneOf']"),
    ],
)
def test_a_schema_it_does_not_understand_is_refused_by_name(schema: dict, message: str) -> None:
    with pytest.raises(UnsupportedSchemaError) as caught:
        input_model("place_order", schema)
    assert message in str(caught.value)
