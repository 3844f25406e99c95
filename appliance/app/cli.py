"""The ``entrance-appliance`` command: run, demo, check-config, status.

Exit codes: 0 fine, 2 the configuration (or the command line) has problems, 3 the state database
is refused, 4 no daemon answers, 5 the printer cannot print.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from appliance import __version__
from appliance.domain.errors import ConfigError, StateError
from appliance.protocol.control import DaemonNotRunning, Request

EXIT_CONFIG, EXIT_STATE, EXIT_NOT_RUNNING, EXIT_PRINTER = 2, 3, 4, 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="entrance-appliance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"entrance-appliance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub):
        sub.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="the device's config file instead of /etc/entrance-appliance/appliance.conf "
            "(conf.d/ beside it is read too)",
        )
        return sub

    with_config(commands.add_parser("run", help="run the daemon (what systemd starts)"))
    with_config(commands.add_parser("check-config", help="check the config; print the effective values"))
    status = with_config(commands.add_parser("status", help="show the running daemon's health"))
    status.add_argument("--socket", type=Path, help="the daemon's control socket (default: from the config)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    test_print = with_config(commands.add_parser("print-test", help="print a sample ticket (for technicians)"))
    test_print.add_argument(
        "--printer",
        metavar="URI",
        help="usb:VID:PID, serial:/dev/ttyUSB0?baudrate=19200, "
        "tcp://HOST:PORT or file:/dev/usb/lp0 (default: from the config)",
    )
    test_print.add_argument("--profile", help="python-escpos capability profile (default: from the config)")
    test_print.add_argument("--paper", type=int, choices=(58, 80), help="paper width in mm (default: from the config)")
    day_list = with_config(commands.add_parser("print-day-list", help="print today's appointment list now"))
    day_list.add_argument("--socket", type=Path, help="the daemon's control socket (default: from the config)")
    scan = with_config(
        commands.add_parser(
            "scan-test",
            help="show what a scanner or camera reads, and the check-in verdict each code would get (for technicians)",
        )
    )
    scan.add_argument(
        "--source",
        nargs="+",
        required=True,
        metavar="SRC",
        help="an evdev device (/dev/input/by-id/..., VID:PID or part of its name), "
        "serial:/dev/ttyACM0, a camera index, or video or image files",
    )
    commands.add_parser("monitor", help="the call-up monitor, full screen (its own process and unit)", add_help=False)
    key = commands.add_parser("make-key", help="make a site's signing key pair for appointment codes")
    key.add_argument("--out", type=Path, required=True, help="private key file (mode 0600); FILE.pub is public")
    code = commands.add_parser("make-code", help="make a signed appointment code (for backends and the demo)")
    code.add_argument("--key", type=Path, required=True, help="the site's private key file")
    code.add_argument("--id", type=int, required=True, help="the appointment's number")
    code.add_argument("--site", required=True)
    code.add_argument("--day", required=True, help="YYYY-MM-DD")
    code.add_argument("--slot", required=True, help="HH:MM, local time")
    code.add_argument("--concern", required=True, help="the concern's name, e.g. leave")
    code.add_argument("--display-code", required=True, help="what the monitor shows, e.g. T042")
    code.add_argument("--png", type=Path, help="also write the QR code as a PNG")
    demo = commands.add_parser("demo", help="run the appliance on simulated hardware")
    demo.add_argument("--minutes", type=float, help="simulate this many minutes as fast as possible, then exit")
    demo.add_argument(
        "--headless",
        action="store_true",
        default=None,
        help="only write demo-out/ (chosen by itself when there is no display)",
    )
    demo.add_argument("--speed", type=float, default=1.0, help="without --minutes: simulated seconds per second")
    demo.add_argument("--seed", type=int, help="seed of the simulated visitors, for a repeatable run")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="where screens and tickets go")
    demo.add_argument("--state-dir", type=Path, default=Path("var"), help="where the demo keeps its state")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["monitor"]:  # the monitor has its own options (app.monitor_process.build_parser)
        from appliance.app.monitor_process import main as monitor_main

        return monitor_main(argv[1:])
    args = parser.parse_args(argv)
    return {
        "run": _run,
        "check-config": _check_config,
        "status": _status,
        "demo": _demo,
        "make-key": _make_key,
        "make-code": _make_code,
        "print-test": _print_test,
        "print-day-list": _print_day_list,
        "scan-test": _scan_test,
    }[args.command](args)


def _load(args):
    from appliance.app.config import load_config

    return load_config(args.config)


def _report_config_problems(error: ConfigError) -> int:
    print(f"{len(error.problems)} problem(s) in the configuration:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_CONFIG


def _run(args) -> int:
    from appliance.app.daemon import run_daemon
    from appliance.domain.journal import configure_logging

    try:
        config = _load(args)
    except ConfigError as error:
        return _report_config_problems(error)  # a config with any error never starts the daemon
    configure_logging(config.logging.level)
    try:
        return run_daemon(config)
    except StateError as error:
        print(f"<2>entrance-appliance: state refused: {error}", file=sys.stderr)
        return EXIT_STATE


def _check_config(args) -> int:
    try:
        config = _load(args)
    except ConfigError as error:
        return _report_config_problems(error)
    from appliance.app.title_check import titles_cut_on_monitor

    print(f"# configuration is valid; read: {', '.join(config.files)}\n")
    print(config.effective, end="")
    for warning in titles_cut_on_monitor(config):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _ask_daemon(args, name: str):
    """The daemon's answer to ``name`` on the control socket (--socket, or from the config);
    an int is an exit code after a message on stderr."""
    from appliance.protocol.control import request

    socket_path = args.socket
    if socket_path is None:
        try:
            socket_path = _load(args).core.control_socket
        except ConfigError as error:
            return _report_config_problems(error)
    try:
        return request(socket_path, name)
    except DaemonNotRunning as error:
        print(f"not running: {error}", file=sys.stderr)
        return EXIT_NOT_RUNNING


def _status(args) -> int:
    status = _ask_daemon(args, Request.STATUS)
    if isinstance(status, int):
        return status
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        from appliance.app.status_text import format_status

        print(format_status(status), end="")
    return 0


def _print_test(args) -> int:
    from datetime import datetime

    from appliance.app.sample_ticket import sample_ticket
    from appliance.printer.connection import open_printer
    from appliance.printer.errors import PrinterError
    from appliance.printer.layout import ticket_bytes
    from appliance.printer.status import printer_status

    uri, profile, paper, timeout, tz = args.printer, args.profile, args.paper, 5.0, None
    if uri is None or profile is None or paper is None:
        try:
            config = _load(args)
        except ConfigError as error:
            if uri is None:
                return _report_config_problems(error)
        else:
            printer = config.printer
            uri, profile = uri or printer.uri, profile or printer.profile
            paper, timeout, tz = paper or printer.paper_width, printer.timeout.total_seconds(), config.device.timezone
    if uri is None:
        print("print-test: no printer: give --printer URI or set [printer] uri", file=sys.stderr)
        return EXIT_CONFIG
    try:
        with open_printer(uri, profile, timeout) as connection:
            status = printer_status(connection, timeout)
            print(f"printer {uri}: {status.state.value}" + (f" ({status.detail})" if status.detail else ""))
            if not status.can_print:
                return EXIT_PRINTER
            connection.write(
                ticket_bytes(sample_ticket(datetime.now(tz).astimezone()), profile=profile, paper_width_mm=paper or 80)
            )
    except (PrinterError, ValueError) as error:
        print(f"print-test: {error}", file=sys.stderr)
        return EXIT_PRINTER
    print("sample ticket printed: check the number, the date, the umlauts and that the QR code scans")
    return 0


def _print_day_list(args) -> int:
    answer = _ask_daemon(args, Request.PRINT_DAY_LIST)
    if isinstance(answer, int):
        return answer
    print(answer)
    return 0


def _scan_test(args) -> int:
    from appliance.app.scan_test import run_scan_test

    try:
        config = _load(args)
    except ConfigError as error:
        print("scan-test: without a valid config no verdicts can be given:", file=sys.stderr)
        _report_config_problems(error)
        config = None
    return run_scan_test(args.source, config)


def _make_key(args) -> int:
    from appliance.domain.codes import Ed25519PrivateKey, private_key_text, public_key_text

    key = Ed25519PrivateKey.generate()
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite a key
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(private_key_text(key) + "\n")
    public = args.out.with_name(args.out.name + ".pub")
    public.write_text(public_key_text(key) + "\n", encoding="ascii")
    print(
        f"private key: {args.out} (keep it on the central system only)\npublic key:  {public} "
        "(for [checkin] public_key_file on every device of the site)"
    )
    return 0


def _make_code(args) -> int:
    from datetime import date, time

    from appliance.domain.codes import AppointmentCode, encode, load_private_key

    try:
        key = load_private_key(args.key.read_text(encoding="ascii"))
        code = AppointmentCode(
            args.id,
            args.site,
            date.fromisoformat(args.day),
            time.fromisoformat(args.slot),
            args.concern,
            args.display_code,
        )
        text = encode(code, key)
    except (OSError, ValueError) as error:
        print(f"make-code: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(text)
    if args.png:
        import qrcode

        qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M).save(args.png)
    return 0


def _demo(args) -> int:
    from appliance.app.demo import run_demo
    from appliance.domain.journal import configure_logging

    configure_logging("warning")
    headless = args.headless
    if headless is None:
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.stdout.isatty())
    try:
        return run_demo(args.minutes, headless, args.out, args.state_dir, speed=args.speed, seed=args.seed)
    except StateError as error:
        print(f"demo: state refused: {error}", file=sys.stderr)
        return EXIT_STATE


if __name__ == "__main__":
    sys.exit(main())
