"""The `mock-server` command."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the scenario machinery is imported by the commands that use it
    from .harness.scenario import Scenario


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-server",
        description="Quectel device-sharing API simulator (with no command: run with the defaults)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the simulator", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--host", default="127.0.0.1", help="address to listen on; off loopback needs --admin-token")
    run.add_argument("--port", type=int, default=8080, help="port to listen on; a busy one is refused")
    run.add_argument("--scenario", default="default", help="a library scenario name or a file path")
    run.add_argument(
        "--scenario-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder whose scenarios requests may name (X-Mock-Scenario, /_mock/scenario); repeatable",
    )
    run.add_argument("--seed", type=int, default=None, help="overrides the scenario's seed")
    run.add_argument(
        "--idle-timeout", type=float, default=1800, help="seconds before an unused session world is dropped"
    )
    run.add_argument("--tls", action="store_true", help="serve HTTPS with a locally made certificate authority")
    run.add_argument("--tls-dir", default=".mock-server/tls", help="where the CA and certificates are kept")
    run.add_argument("--cert", help="your own server certificate (PEM, with its chain); with --key")
    run.add_argument("--key", help="the private key of --cert (PEM)")
    run.add_argument("--admin-token", help="bearer token the control API requires (required off loopback)")
    run.add_argument("--state-file", help="load the worlds from this file; write them there on a clean stop")
    run.add_argument("--no-mqtt", action="store_true", help="do not serve the realtime channel (MQTT over WebSocket)")
    run.add_argument(
        "--mqtt-port", type=int, help="also serve /ws/v2 on this port of its own (the HTTP port always serves it)"
    )
    run.add_argument(
        "--max-generated",
        type=_positive,
        default=10_000,
        help="the most users, devices and shares (in all) a scenario a request sends or names may generate",
    )
    run.add_argument("--log-format", choices=("none", "text", "json"), default="none", help="a line per request")
    check = sub.add_parser("validate", help="check scenario files; exit 2 when any has a problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("schema", help="print the scenario file format as JSON Schema")
    _import_parser(sub)
    return parser


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _import_parser(sub) -> None:
    grab = sub.add_parser(
        "import",
        help="sign in to a cloud of this API and write the account as a scenario",
        description="Sign in to a cloud of this API (the real one, or a simulator) with the documented "
        "password login, read what the user can see, and write a scenario that answers the same "
        "userDeviceList, productTSL and getDeviceBusinessAttributes to that user. Progress goes to "
        "standard error. The real password and tokens are not written unless --keep-password.",
    )
    grab.add_argument("--from", dest="from_url", required=True, metavar="URL",
                      help="the cloud's base URL, e.g. https://iot-api.acceleronix.io")  # fmt: skip
    who = grab.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="sign in with this e-mail")
    who.add_argument("--phone", help="sign in with this phone number")
    grab.add_argument("--international-code", help="the phone's country calling code, e.g. 86 (signed with it)")
    grab.add_argument("--password", required=True, help="the account's password")
    grab.add_argument("--user-domain", required=True, help="the app's user domain, e.g. C.DM.5903.1")
    grab.add_argument("--domain-secret", help="the user domain's secret (login signatures); blank when not checked")
    grab.add_argument("--ca-file", help="a PEM CA to trust for HTTPS (a simulator's --tls CA)")
    grab.add_argument("--out", help="write the scenario here (default: standard output)")
    grab.add_argument("--keep-password", action="store_true",
                      help="write the real password, access token and domain secret into the file")  # fmt: skip


def _banner(scenario: Scenario, urls: list[tuple[str, str]], extra: Sequence[str] = ()) -> str:
    base_url = urls[0][1]
    lines = [f"Quectel sharing simulator: {base_url}  (scenario {scenario.name}, seed {scenario.seed})"]
    lines += [f"  {url:<32} {who}" for who, url in urls[1:]]
    for user in (u for u in scenario.named_users if u.get("token")):
        who = user.get("nickname") or user["uid"]
        password = f"   password: {user['password']}" if user.get("password") else ""
        lines.append(f"  {user['uid']:<8} {who:<18} Authorization: {user['token']}{password}")
    lines.append(f"  dashboard: {base_url}/_mock/ui/   docs: {base_url}/_mock/docs/   health: {base_url}/_mock/health")
    lines += [f"  {line}" for line in extra]
    return "\n".join(lines)


def _realtime_lines(args: argparse.Namespace, base_url: str) -> list[str]:
    if args.no_mqtt:
        return ["realtime channel: off (--no-mqtt)"]
    ws = base_url.replace("http", "ws", 1)
    lines = [f"realtime (MQTT over WebSocket): {ws}/ws/v2   client id qu_<uid>_<ms>, password: the token"]
    if args.mqtt_port:
        host = ws.rsplit(":", 1)[0]
        lines.append(f"  and on its own port: {host}:{args.mqtt_port}/ws/v2")
    return lines


def _refuse(message: str) -> int:
    print(f"mock-server: {message}", file=sys.stderr)
    return 2


def _tls(args: argparse.Namespace) -> tuple[str | None, str | None, str | None] | None:
    """(cert, key, CA file to install on phones) for HTTPS; (None, None, None) for HTTP; None
    after printing why the options do not go together."""
    from pathlib import Path

    if bool(args.cert) != bool(args.key):
        _refuse("--cert and --key go together")
        return None
    if args.cert:
        return args.cert, args.key, None
    if not args.tls:
        return None, None, None
    from .network import tls_material

    ca, cert, key = tls_material(Path(args.tls_dir), args.host)
    return str(cert), str(key), str(ca)


def run(args: argparse.Namespace) -> int:
    """Serve until stopped. The cyclic collector is paused while the server starts: what the
    imports and the app make lives for the whole run, and collections walking it again and
    again were some 30 ms of CPU before the first answer (make_app restarts the collector)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:  # reached only when the server did not start (serve() ends the process)
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from .app import create_app
    from .collector import Collector
    from .harness.persistence import StateFileError, read_state, write_state
    from .harness.scenario import scan
    from .network import is_loopback, reachable_urls
    from .server import PortInUse, listen, serve

    if not is_loopback(args.host) and not args.admin_token:
        return _refuse(f"--host {args.host} opens the control API to the network: give --admin-token TOKEN")
    tls = _tls(args)
    if tls is None:
        return 2
    if args.mqtt_port is not None and (args.no_mqtt or args.mqtt_port == args.port or not 0 < args.mqtt_port < 65536):
        return _refuse("--mqtt-port needs the realtime channel on (no --no-mqtt) and a port other than --port")
    scenario = _load(args.scenario, args.seed, args.scenario_dir)
    if scenario is None:
        return 2
    for problem in scan([Path(d) for d in args.scenario_dir])[1]:
        print(f"warning: {problem} {UNUSABLE_UNTIL_FIXED}", file=sys.stderr)
    restored = None
    if args.state_file and Path(args.state_file).exists():
        try:
            restored = read_state(Path(args.state_file))
        except StateFileError as exc:
            return _refuse(str(exc))
    config = {
        "IDLE_TIMEOUT": args.idle_timeout,
        "STATE_FILE": args.state_file,
        "ADMIN_TOKEN": args.admin_token,
        "LOG_FORMAT": args.log_format,
        "HOST": args.host,
        "SCENARIO_DIRS": tuple(args.scenario_dir),
        "MAX_GENERATED": args.max_generated,
        "MQTT": not args.no_mqtt,
        "MQTT_HOST": args.host,
        "MQTT_PORT": args.mqtt_port,
        "TLS_CERT": tls[0],
        "TLS_KEY": tls[1],
        "TLS_CA": tls[2],
    }
    holder: dict = {}

    def save_on_stop() -> None:
        if args.state_file and "app" in holder:
            write_state(Path(args.state_file), holder["app"].extensions["mock_server"].worlds)

    def make_app():
        app = holder["app"] = create_app(config, scenario=scenario, restored=restored)
        # What exists now lives for the whole run: frozen, so that the cyclic collector does
        # not walk it again and again (collector.py). No collection first: the start leaves a
        # few hundred kilobytes of cyclic garbage, left to the first sweep when idle, where
        # finding it took longer than the rest of making the app.
        Collector().start()
        return app

    cert, key, ca = tls
    try:
        sock = listen(args.host, args.port)
    except PortInUse as exc:
        _refuse(str(exc))
        return 1
    args.port = sock.getsockname()[1]  # --port 0: the free port the system picked, in the banner too
    urls = reachable_urls(args.host, args.port, "https" if cert else "http")
    extra = []
    if ca:
        phone = next((url for who, url in urls if who.startswith("phones")), urls[0][1])
        extra.append(f"TLS: phones get the CA at {phone}/_mock/ca (a QR code there to scan); the file: {ca}")
    if restored:
        extra.append(f"restored {len(restored)} world(s) from {args.state_file}")
    if args.admin_token:
        extra.append("control API: Authorization: Bearer <your --admin-token>")
    extra += _realtime_lines(args, urls[0][1])
    print(_banner(scenario, urls, extra), flush=True)
    serve(make_app, args.host, args.port, cert=cert, key=key, on_shutdown=save_on_stop, sock=sock)
    return 0


UNUSABLE_UNTIL_FIXED = "(a --scenario-dir file: requests naming it are refused until it is fixed)"


def _load(name: str, seed: int | None = None, dirs: Sequence[str] = ()) -> Scenario | None:
    """The scenario, or None after printing why it cannot be used; its warnings printed."""
    from .api.rule_check import invalid_file_warnings, scenario_warnings
    from .harness.scenario import Scenario, ScenarioInvalid, ScenarioNotFound

    try:
        scenario = Scenario.load(name, seed, [Path(d) for d in dirs])
        for line in scenario_warnings(scenario):
            print(f"warning: {line}", file=sys.stderr)
        return scenario
    except ScenarioNotFound as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
    except ScenarioInvalid as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        for line in invalid_file_warnings(name, dirs):
            print(f"warning: {line}", file=sys.stderr)
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
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]  # `mock-server` alone, or `mock-server --port 9000`, runs
    args = _parser().parse_args(argv)
    if args.command == "import":
        from .importer import main as import_main

        return import_main(args)
    return {"run": run, "validate": validate, "schema": schema}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
