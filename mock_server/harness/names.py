"""Generated people's first and last names: those Faker("en_US") draws for a seed, without
Faker at run time. Importing Faker scans every one of its locales (some 30 ms of CPU, an
eighth of the server's start), so its en_US person tables are kept here as data
(names_en_US.json; Faker is MIT licensed) and drawn from exactly as Faker draws:
random.choices over the running sums of the weights, with a random.Random seeded as
Faker's seed_instance seeds its own.

tests/test_scenario.py checks the file against the installed Faker and the draws against a
real Faker("en_US"); after a Faker release changes its tables, write the file again with
`python -m mock_server.harness.names`. Faker is a test dependency only (setup.cfg's `test`
extra): a plain install does not bring it.
"""

from __future__ import annotations

import itertools
import json
import random
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("names_en_US.json")


@cache
def _tables() -> dict[str, tuple[tuple[str, ...], list[float]]]:
    """Each table (first, last): its names and the running sums of their weights, summed once
    (Faker sums a table of a thousand names at every draw)."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {
        kind: (tuple(name for name, _ in rows), list(itertools.accumulate(weight for _, weight in rows)))
        for kind, rows in data["tables"].items()
    }


class Names:
    """The first and last names Faker("en_US") gives after seed_instance(seed), in the same order."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self._tables = _tables()

    def _draw(self, kind: str) -> str:
        names, running_sums = self._tables[kind]
        return self.random.choices(names, cum_weights=running_sums, k=1)[0]

    def first_name(self) -> str:
        return self._draw("first")

    def last_name(self) -> str:
        return self._draw("last")


def faker_tables() -> dict:
    """The installed Faker's en_US person tables, as the file holds them."""
    import faker
    from faker.providers.person.en_US import Provider

    return {
        "faker": faker.VERSION,
        "tables": {"first": list(Provider.first_names.items()), "last": list(Provider.last_names.items())},
    }


def table_text(tables: dict) -> str:
    """The file's text: a name and its weight a line, so that a Faker update reads as a diff."""
    kinds = [
        f"{json.dumps(kind)}: [\n" + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n]"
        for kind, rows in tables["tables"].items()
    ]
    return f'{{"faker": {json.dumps(tables["faker"])}, "tables": {{\n' + ",\n".join(kinds) + "\n}}\n"


if __name__ == "__main__":
    TABLE.write_text(table_text(faker_tables()), encoding="utf-8")
