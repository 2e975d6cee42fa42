"""The `mock-server` command."""

from __future__ import annotations

import argparse
import sys

from .domain.scenario import Scenario, ScenarioNotFound


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mock-server", description="Quectel device-sharing API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the simulator")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--scenario", default="default", help="a library scenario name or a file path")
    run.add_argument("--seed", type=int, default=None, help="overrides the scenario's seed")
    run.add_argument("--threads", type=int, default=16, help="request threads (default 16)")
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

    try:
        scenario = Scenario.load(args.scenario, args.seed)
    except ScenarioNotFound as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
        return 2
    app = create_app(scenario=scenario)
    print(_banner(scenario, f"http://{args.host}:{args.port}"), flush=True)
    serve(app, args.host, args.port, args.threads)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"run": run}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
