"""The journal's record keeping: what an entry keeps, its numbering and its byte accounting,
alike whether a caller hands its dict over (add) or passes fields (record)."""

from __future__ import annotations

import logging

import pytest

from mock_server.harness import journal as journal_module
from mock_server.harness.journal import MAX_PARAMS, MAX_PATH, MAX_VALUE, Journal


def _fields(**params: object) -> dict:
    return {"time": 1, "method": "POST", "path": "/v2/x/shareInfo", "endpoint": "shareInfo", "params": params,
            "uid": "u1", "rule": None, "code": 200, "status": 200, "warnings": [], "answer": '{"code":200}'}  # fmt: skip


def test_add_numbers_the_entry_it_takes_and_keeps_seq_first():
    journal = Journal()
    first = journal.add({"seq": 0, **_fields(pk="p1")})
    second = journal.record(**_fields(pk="p2"))
    assert [e["seq"] for e in journal.query()] == [1, 2] and journal.total == 2
    assert list(first)[0] == "seq" and list(second)[0] == "seq"
    assert journal.query()[0] is first  # taken over, not copied
    assert {k: v for k, v in first.items() if k not in ("seq", "params")} == {
        k: v for k, v in second.items() if k not in ("seq", "params")
    }


def test_the_parameters_kept_are_a_copy_of_the_callers():
    journal = Journal()
    params = {"pk": "p11u5w", "dk": "LAMP00000001"}
    entry = journal.add({"seq": 0, **_fields(**params)})
    given = entry["params"]
    given_before = dict(given)
    params["pk"] = "changed"  # the caller's own dict, changed afterwards
    assert journal.query()[0]["params"] == given_before == {"pk": "p11u5w", "dk": "LAMP00000001"}


def test_short_texts_take_the_shortcut_with_the_same_result_and_size():
    cases = [
        {"pk": "p11u5w", "dk": "LAMP00000001", "acceptingExpireAt": "4000000000000"},
        {"a" * MAX_VALUE: "b" * MAX_VALUE},  # exactly at the bound: kept whole
        {"n": 5, "s": "x"},  # small numbers, kept as they are
        {"data": '[{"brightness": 35}]', "deviceList": [{"productKey": "p", "deviceKey": "d"}], "type": 2},
        {"t": True, "none": None, "d": {"a": [1, 2]}, "big": 2**64, "small": -(2**63) - 1, "f": 1.5},
        {"long list": list(range(200)), "é": ["é" * 100]},  # 201 characters, 301 bytes: kept whole
        {"deep": [[[]]] * 300, 7: "not a text name"},
        {"long": "y" * (MAX_VALUE + 1)},  # over the bound: cut
        {},
    ]
    for params in cases:
        kept, size = journal_module._params(params)
        assert (kept, size) == journal_module._cut_params(params), params
        assert kept is not params
    assert journal_module._params({"long": "y" * 300})[0]["long"].endswith("...(300 chars)")


def test_byte_accounting_drops_the_oldest_past_the_bound():
    probe = Journal()
    probe.add({"seq": 0, **_fields(pk="p")})
    each = probe.size
    assert each == 200 + len("pk") + len("p") + sum(len(v) for v in _fields().values() if isinstance(v, str))
    journal = Journal(max_entries=100, max_bytes=each * 3)
    for _ in range(5):
        journal.add({"seq": 0, **_fields(pk="p")})
        assert journal.size <= each * 3
    assert [e["seq"] for e in journal.query()] == [3, 4, 5] and journal.total == 5


def test_a_long_path_is_cut_in_the_journal_but_not_in_the_log():
    from mock_server.api import steps
    from mock_server.app import create_app

    app = create_app({"LOG_FORMAT": "text"})
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    steps._request_log.addHandler(handler)
    path = "/v2/binding/enduserapi/" + "x" * (MAX_PATH + 500)
    try:
        app.test_client().get(path, headers={"Authorization": "owner-token"})
    finally:
        steps._request_log.removeHandler(handler)
    entries = app.test_client().get("/_mock/journal").get_json()["entries"]
    kept = entries[-1]["path"]
    assert len(kept) < MAX_PATH + 30 and kept.endswith(f"...({len(path)} chars)")
    assert any(line.startswith(f"GET {path} 404") for line in lines)


def test_a_requests_entry_holds_no_list_of_its_own(api, world):
    """A journal entry lives as long as the journal keeps it, and every young collection walks
    each object it holds until then; a request's entry is one such object, not two (its
    warnings are a tuple, which the collector stops tracking). With warnings, and without."""
    api.get("userInfo", "owner-token")
    api.post("shareInfo", "owner-token", pk="p11u5w", dk="LAMP00000001", acceptingExpireAt=1)  # seconds: warned
    plain, warned = world.journal.query()[-2:]
    assert warned["warnings"] and not plain["warnings"]
    for entry in (plain, warned):
        assert not [name for name, value in entry.items() if isinstance(value, list)]


def test_a_request_kept_as_a_tuple_reads_as_the_dict_add_keeps():
    """add_request keeps a REST request as a tuple and makes it a dict when read: the same dict
    that add keeps for the same fields, by query and by since, with the answer's first
    ANSWER_MAX bytes as text (a character cut in two reads as U+FFFD) and a long path cut."""
    params = {"pk": "p11u5w", "dk": "LAMP00000001"}
    answer = b'{"code":200,"data":"' + "é".encode() * 2000 + b'"}'
    long_path = "/v2/x/" + "y" * (MAX_PATH + 10)
    for path in ("/v2/x/shareInfo", long_path):
        fields = {**_fields(**params), "path": path, "warnings": ("a warning",)}
        fields["endpoint"] = path.rsplit("/", 1)[-1]
        fields["answer"] = answer[: journal_module.ANSWER_MAX].decode("utf-8", "replace")
        as_dict, as_tuple = Journal(), Journal()
        expected = as_dict.add({"seq": 0, **fields})
        if path == long_path:
            expected["endpoint"] = expected["path"].rsplit("/", 1)[-1]  # read from the path kept
        as_tuple.add_request(1, "POST", path, dict(params), "u1", None, 200, 200, ("a warning",), answer)
        assert as_tuple.query() == [expected] == as_tuple.since(0)
        assert as_tuple.query(path="shareInfo") == ([expected] if path != long_path else [])
        kept = min(len(path), MAX_PATH + 20) + journal_module.ANSWER_MAX
        assert as_tuple.total == 1 and kept < as_tuple.size < 400 + 2 * kept


def test_requests_kept_as_tuples_are_bounded_in_bytes_and_numbered_with_the_rest():
    journal = Journal(max_entries=1000, max_bytes=50_000)
    wide = {f"p{i}": "v" * 10_000 for i in range(200)}  # cut to MAX_PARAMS values of MAX_VALUE
    for _ in range(20):
        journal.add_request(1, "POST", "/v2/x/e", wide, None, None, 200, 200, (), b"x" * 100_000)
        journal.record(**_fields(pk="p"))
    assert journal.size <= 50_000 and journal.total == 40
    seqs = [e["seq"] for e in journal.query()]
    assert seqs == list(range(41 - len(seqs), 41)) and len(seqs) > 2
    kept = journal.query(path="e")[-1]
    assert len(kept["params"]) == MAX_PARAMS + 1 and len(kept["answer"]) == journal_module.ANSWER_MAX


def test_a_json_bodys_small_numbers_and_lists_take_the_shortcut(monkeypatch):
    params = {"data": '[{"brightness": 35}]', "deviceList": [{"productKey": "p", "deviceKey": "d"}], "type": 2,
              "on": True, "none": None}  # fmt: skip
    expected = journal_module._cut_params(params)
    monkeypatch.setattr(journal_module, "_cut_params", lambda p: pytest.fail(f"{p} went the long way"))
    assert journal_module._params(params) == expected
