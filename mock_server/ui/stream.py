"""The live journal as server-sent events.

The Flask view answers what the journal holds after the client's last event. A server that
can stream (rsgi.py, on granian's event loop) then keeps the connection and sends each new
entry as it is recorded; any other server (the test client, werkzeug's thread server of the
pytest plugin) ends the answer with `retry:`, and the browser's EventSource reconnects with
Last-Event-ID: the same events, a little later.

Event types: `request` (a journal entry: an API call, or a realtime connection's event, whose
`kind` is `mqtt`), `reset` (the world was rebuilt: its journal starts again).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import orjson

from ..harness.journal import Journal

CAN_STREAM = "mock_server.can_stream"  # set by a server that can keep a response open
STREAM = "mock_server.stream"  # set by the view: (journal finder, last seq sent) to go on from
BACKLOG = 200  # entries sent to a new client
RETRY_MS = 1000  # how soon a browser reconnects where the answer cannot stay open
POLL_S = 0.1
KEEPALIVE_S = 15.0
MAX_SECONDS = 300.0  # a stream ends now and then (the browser reconnects): nothing lingers
# A client that does not read would make the server hold all it is sent: a stream ends after
# this much (a browser reconnects with Last-Event-ID and misses nothing), at most this many
# are open at once (the others get the backlog and `retry:`, as where streams cannot stay open).
MAX_STREAM_BYTES = 2 * 1024 * 1024
MAX_STREAMS = 16


_open: set[asyncio.Event] = set()  # one per open stream: set it to end that stream
_chained: set[int] = set()  # loops whose stop signals also end the streams


def _end_streams() -> None:
    for stop in list(_open):
        stop.set()


def end_streams_on_stop(loop: asyncio.AbstractEventLoop) -> None:
    """On SIGTERM or SIGINT, granian's worker stops taking connections and waits for the open
    answers to end before it stops; a stream never ends by itself, so a browser tab on the
    journal would hold the server up. Its signal handlers are asyncio's: ours goes first, then
    calls the one granian installed (asyncio keeps them in the loop's _signal_handlers)."""
    handlers = getattr(loop, "_signal_handlers", None)
    if id(loop) in _chained or handlers is None:
        return
    _chained.add(id(loop))
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = handlers.get(sig)
        if previous is not None:
            loop.add_signal_handler(sig, _end_streams_then, previous)


def _end_streams_then(previous: asyncio.Handle) -> None:
    _end_streams()
    previous._run()


def request_events(entries: list[dict]) -> str:
    return "".join(f"id: {e['seq']}\nevent: request\ndata: {_json(e)}\n\n" for e in entries)


def _json(entry: dict) -> str:
    """An entry as JSON; one that holds what orjson refuses (an integer over 64 bits) is
    written by the standard library, so no entry ever ends a stream."""
    try:
        return orjson.dumps(entry).decode()
    except TypeError:
        return json.dumps(entry, default=str)


def has_room() -> bool:
    """Whether another stream may stay open (MAX_STREAMS)."""
    return len(_open) < MAX_STREAMS


def backlog(journal: Journal, after: int | None, can_stream: bool) -> tuple[str, int]:
    """The events a (re)connecting client has not seen, and the seq they end at."""
    text = ""
    if after is not None and after > journal.total:  # a rebuilt world: its journal began again
        text, after = "event: reset\ndata: {}\n\n", 0
    entries = journal.since(after or 0, BACKLOG)
    text += request_events(entries)
    if not can_stream:
        text += f"retry: {RETRY_MS}\n\n"
    return text or ": nothing yet\n\n", entries[-1]["seq"] if entries else (after or 0)


Follow = tuple[Callable[[], Journal], int]  # where the world's journal is now, and the last seq sent


async def serve(proto: Any, status: int, headers: list, first: bytes, follow: Follow) -> None:
    """Send `first`, then every entry recorded after it until the client goes away."""
    find_journal, seq = follow
    open_ended = [(k, v) for k, v in headers if k.lower() != "content-length"]  # Flask counted `first` only
    transport = proto.response_stream(status, open_ended)
    loop = asyncio.get_running_loop()
    end_streams_on_stop(loop)
    gone = asyncio.ensure_future(proto.client_disconnect())
    stop = asyncio.Event()
    _open.add(stop)
    journal, deadline, quiet_since = find_journal(), loop.time() + MAX_SECONDS, loop.time()
    sent = len(first)
    try:
        await transport.send_bytes(first)
        while not (gone.done() or stop.is_set()) and loop.time() < deadline and sent < MAX_STREAM_BYTES:
            text, journal, seq = _news(find_journal, journal, seq)
            if not text and loop.time() - quiet_since > KEEPALIVE_S:
                text = ": keep-alive\n\n"
            if text:
                await transport.send_str(text)
                sent += len(text)
                quiet_since = loop.time()
            await asyncio.wait([gone], timeout=POLL_S)
    except Exception:  # a closed connection raises on send: there is nobody to tell
        pass
    finally:
        _open.discard(stop)
        gone.cancel()


def _news(find_journal: Callable[[], Journal], journal: Journal, seq: int) -> tuple[str, Journal, int]:
    current = find_journal()
    text = ""
    if current is not journal:
        text, journal, seq = "event: reset\ndata: {}\n\n", current, 0
    if journal.total > seq:
        entries = journal.since(seq, BACKLOG)  # a stream that fell far behind skips to the newest
        if entries:
            text += request_events(entries)
            seq = entries[-1]["seq"]
    return text, journal, seq
