"""The X-Mock-Warning header: what the simulator accepted but doubts, where a client sees it."""

from __future__ import annotations

HEADER = "X-Mock-Warning"
MAX_LENGTH = 2000  # a header line, not a document


def warning_header(warnings: list[str]) -> str:
    """The warnings as one header value: ASCII (a header carries no other safely), '; '-joined."""
    text = "; ".join(warnings).encode("ascii", "backslashreplace").decode("ascii")
    text = " ".join(text.split())  # no line breaks may reach a header
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."
