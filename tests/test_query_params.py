"""context.query_params reads a query as Werkzeug's `request.args` does (first value of each
name), whether it splits a plain query itself or leaves an escaped one to Werkzeug."""

import random

from werkzeug.wrappers import Request

from mock_server.api.context import query_params

PIECES = ["a", "b", "=", "&", "x", "", ";", " ", "é", "%20", "+", "==", "&&", "%", "%zz", "\t", "pk", "dk"]


def _outcome(read) -> list | str:
    try:
        return list(read().items())
    except UnicodeDecodeError as exc:  # a latin-1 query that is not UTF-8: Werkzeug refuses it
        return repr(exc)


def _both(query: str) -> tuple:
    req = Request({"QUERY_STRING": query, "REQUEST_METHOD": "GET"})
    fresh = Request({"QUERY_STRING": query, "REQUEST_METHOD": "GET"})
    return _outcome(lambda: dict(req.args.items())), _outcome(lambda: query_params(fresh))


def test_queries_read_as_werkzeug_reads_them():
    rng = random.Random(20)
    for _ in range(20_000):
        query = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 9)))
        expected, got = _both(query)
        assert got == expected, query


def test_the_usual_queries():
    for query in ("", "pk=p&dk=d", "pk=p&pk=q", "a&b=", "&&a=1&", "a=1=2", "x=%41", "x=a+b", "k=é"):
        expected, got = _both(query)
        assert got == expected, query
