"""Params._quick_load (api/schemas.py) answers what marshmallow's own load answers, for every
endpoint's schema: the same parameters, in the same order, or it leaves the input to
marshmallow (which then says what is wrong)."""

import itertools

import pytest
from marshmallow import Schema, ValidationError

from mock_server.api.declare import registry
from mock_server.api.params import schema_for
from mock_server.api.schemas import Params
from mock_server.cloud.models import Settings

SCHEMAS = sorted({ep.schema for ep in registry() if ep.schema is not None}, key=lambda cls: cls.__name__)
ODD_VALUES = ("x", "0", "1", "-1", "99999999999999999999999", " 5 ", 1, 0, 2.5, True, [], {}, ["a"], "a,b", "2",
              "9223372036854775807", "9223372036854775808", "\u0663", "\u00b2", " x ", "\t", "1767225600000")


def _inputs(schema: Params) -> list[dict]:
    """The documented example, each parameter left out, and each given odd values."""
    example = {name: field.metadata.get("example") for name, field in schema.fields.items()}
    example = {name: value for name, value in example.items() if value is not None}
    found = [example, {}]
    for name in schema.fields:
        found.append({k: v for k, v in example.items() if k != name})
        found += [{**example, name: odd} for odd in ODD_VALUES]
    return found


def _marshmallow(schema: Params, data: dict) -> dict | str:
    try:
        return Schema.load(schema, schema._drop_blank(data))
    except ValidationError as err:
        return f"refused: {err.messages}"


@pytest.mark.parametrize("cls", SCHEMAS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("settings", [Settings()], ids=["default settings"])
def test_quick_load_is_marshmallows_load(cls, settings):
    schema = schema_for(cls, settings)
    assert schema.quick_plan is not None, "every endpoint's schema is loaded quickly"
    quick_answers = 0
    for data in _inputs(schema):
        quick = schema._quick_load(schema._drop_blank(data))
        expected = _marshmallow(schema, data)
        if quick is not None:
            quick_answers += 1
            assert isinstance(expected, dict), (data, quick, expected)
            assert list(quick.items()) == list(expected.items()), data  # same values, same order
    assert quick_answers > 0


def test_a_schema_with_a_data_key_is_left_to_marshmallow():
    from marshmallow import fields

    class Keyed(Params):
        name = fields.String(data_key="other")

    assert Keyed().quick_plan is None
    assert Keyed().load({"other": "x"}) == {"name": "x"}


def test_every_odd_value_pair_of_share_info_answers_alike():
    """Two parameters odd at once: the cross-field rules (5153) see what marshmallow's see."""
    schema = schema_for(SCHEMAS[[c.__name__ for c in SCHEMAS].index("ShareInfoParams")], Settings())
    names = list(schema.fields)
    for a, b in itertools.combinations(names, 2):
        for odd_a, odd_b in itertools.product(("1", "4000000000000", "x"), repeat=2):
            data = {"pk": "p", "dk": "d", "acceptingExpireAt": "4000000000000", a: odd_a, b: odd_b}
            quick = schema._quick_load(schema._drop_blank(data))
            expected = _marshmallow(schema, data)
            assert quick is None or quick == expected, data
