"""The `mock-server` command."""

from __future__ import annotations

import argparse
import gc
import sys

from .domain.scenario import Scenario, ScenarioInvalid, ScenarioNotFound


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mock-server", description="Quectel device-sharing API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the simulator")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--scenario", default="default", help="a library scenario name or a file path")
    run.add_argument("--seed", type=int, default=None, help="overrides the scenario's seed")
    run.add_argument(
        "--idle-timeout", type=float, default=1800, help="seconds before an unused session world is dropped"
    )
    check = sub.add_parser("validate", help="check scenario files; exit 2 when any has a problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("schema", help="print the scenario file format as JSON Schema")
    return parser


def _banner(scenario: Scenario, base_url: str) -> str:
    lines = [f"Quectel sharing simulator: {base_url}  (scenario {scenario.name}, seed {scenario.seed})"]
    for user in (u for u in scenario.named_users if u.get("token")):
        who = user.get("nickname") or user["uid"]
        lines.append(f"  {user['uid']:<8} {who:<18} Authorization: {user['token']}")
    lines.append(f"  health: {base_url}/_mock/health")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .app import create_app
    from .server import serve

    scenario = _load(args.scenario, args.seed)
    if scenario is None:
        return 2

    def make_app():
        app = create_app({"IDLE_TIMEOUT": args.idle_timeout}, scenario=scenario)
        # What exists now lives for the whole run: keep the cyclic collector from walking it
        # again and again (a large world is millions of objects).
        gc.collect()
        gc.freeze()
        # Full collections walk every object younger than the freeze, and a busy world makes
        # hundreds of thousands: they were the p99 latency. Young generations are still
        # collected; a world holds no reference cycles for the old one to find.
        gc.set_threshold(5000, 50, 1_000_000)
        return app

    print(_banner(scenario, f"http://{args.host}:{args.port}"), flush=True)
    serve(make_app, args.host, args.port)
    return 0


def _load(name: str, seed: int | None = None) -> Scenario | None:
    """The scenario, or None after printing why it cannot be used."""
    try:
        return Scenario.load(name, seed)
    except ScenarioNotFound as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
    except ScenarioInvalid as exc:
        print("\n".join(exc.problems), file=sys.stderr)
    return None


def validate(args: argparse.Namespace) -> int:
    bad = [name for name in args.files if _load(name) is None]
    if not bad:
        print(f"{len(args.files)} scenario file(s) valid")
    return 2 if bad else 0


def schema(args: argparse.Namespace) -> int:
    import json

    from .api.openapi import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"run": run, "validate": validate, "schema": schema}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
