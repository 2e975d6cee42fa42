"""What the device endpoints do once instead of on every request answers as before: a STRUCT's
or ARRAY's value is written as the standard library writes it, and the named tuples that
replaced dataclasses keep their fields."""

import json

import pytest

from mock_server.cloud import things
from mock_server.cloud.access import DeviceView
from mock_server.cloud.control import Command

TEXTS = ["plain", "ünïcödé ✓ 漢字 🙂", 'quote " backslash \\ slash /', "\u2028\u2029\x7f", "".join(map(chr, range(32)))]


@pytest.mark.parametrize("text", TEXTS + ["lone \ud800 surrogate"])
def test_struct_and_array_text_is_what_json_writes(text):
    for value in ({"a": text, text: "b"}, [text, "", text[::-1]], {}, []):
        assert things._json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_device_view_and_command_keep_their_fields_and_defaults():
    view = DeviceView("device")
    assert (view.device, view.share, view.family, view.owned) == ("device", None, None, True)
    assert not DeviceView("device", family="F1").owned
    command = Command(type=2, data="[]")
    assert (command.dataFormat, command.cacheTime, command.isCache, command.isCover, command.qos) == (None, None, 2, 2, 1)
    with pytest.raises(AttributeError):
        command.type = 3  # type: ignore[misc]
