"""The running appliance: config, state, core and control socket put together, and its lifecycle.

``run_daemon`` is what systemd starts; the demo builds the same Appliance on a simulated clock.
"""
import logging
import os
import signal
import threading
import time
from concurrent.futures import Future

from appliance import __version__
from appliance.domain.clock import SystemClock
from appliance.domain.commands import CheckIn, Health, JudgeScan, ReportHealth
from appliance.domain.config import AppConfig
from appliance.app.control import ControlServer
from appliance.domain.core import Core
from appliance.domain.errors import ApplianceError, ClockNotTrusted
from appliance.domain.messages import CLOCK_UNKNOWN, OUT_OF_ORDER, KioskAnswer
from appliance.app.sdnotify import SystemdNotifier
from appliance.domain.state import StateStore
from appliance.drivers.settings import source_text

log = logging.getLogger(__name__)
BLOCKED_AFTER_S = 5.0  # a core loop silent this long is reported (its tick is 1 s)


class Appliance:
    def __init__(self, config: AppConfig, clock=None, notifier: SystemdNotifier | None = None,
                 clock_trusted: bool = True):
        self.config = config
        self.clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier(address=None)
        self.started_at = time.monotonic()
        self._watchdog_interval = self.notifier.watchdog_interval()
        self._last_ping = 0.0
        self.store = StateStore(config.state.database)  # refuses damaged or newer files
        # Production decides at start (run_daemon); the demo and tests run on a clock they set themselves.
        self.core = Core(config, self.store, self.clock, on_alive=self._feed_watchdog, clock_trusted=clock_trusted)
        self.clock_trust = None
        self.sync = None
        self._changed = threading.Condition()
        self._closing = False
        self.components: list = []
        self.dispenser = None
        self.panel = None
        self.kiosk_answer = None
        self.answer_listeners: list = []
        self._signals = _PanelSignals(self)
        self._view_serial = 0
        self.core.subscribe(self._on_snapshot)
        self.control = ControlServer(config.core.control_socket,
                                     {"status": self.status, "print-day-list": self._print_day_list,
                                      "judge": self._judge, "press": self._touch_press},
                                     streams={"subscribe": self.views})

    def start(self) -> None:
        self.core.start()
        self.control.start()
        self._start_components()
        log.info("entrance-appliance %s ready: device %s at site %s, roles %s", __version__,
                 self.config.device.id, self.config.device.site, ", ".join(self.config.device.roles))
        self.notifier.ready(status=self.summary())

    def stop(self) -> None:
        self.notifier.stopping(status="stopping")
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        for component in reversed(self.components):
            try:
                component.close() if hasattr(component, "close") else component.stop()
            except Exception:
                log.exception("stopping %s failed", type(component).__name__)
        self.control.close()
        self.core.stop()
        self.store.close()
        log.info("stopped")

    def _feed_watchdog(self) -> None:
        # Called by the core's loop: only a loop that runs keeps systemd from restarting us.
        if self._watchdog_interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self._watchdog_interval / 2:
            self._last_ping = now
            self.notifier.watchdog()

    # --- components: each starts on its own; one that fails is reported, the others run -----------

    def _start_components(self) -> None:
        roles = self.config.device.roles
        self._start("clock", self._start_clock_trust)
        if "kiosk" in roles and self.config.printer.uri:
            self._start("printer", self._start_dispenser)
        if "kiosk" in roles and (self._button_pins() or self._led_pins()):
            self._start("buttons", self._start_panel)
        if "kiosk" in roles:
            for source in self.config.scanner.inputs:
                self._start(f"scanner {source_text(source)}", lambda source=source: self._start_reader(source))
        if self.config.backend.url:
            self._start("backend", self._start_sync)
        if self.config.push.enabled:
            self._start("push", self._start_push)

    def _start(self, name: str, start) -> None:
        try:
            self.components.append(start())
        except Exception as error:  # one broken part must not take check-in or the monitor with it
            log.error("%s did not start: %s", name, error)
            self.core.submit(ReportHealth(name, Health.FAILED, f"did not start: {error}"))

    def _start_clock_trust(self):
        from appliance.sync.clock_trust import ClockTrust
        self.clock_trust = ClockTrust(self.core, self.clock, self.config.backend.clock_tolerance.total_seconds(),
                                      trusted=self.core.clock_trusted)
        return self.clock_trust.start()

    def _start_sync(self):
        from appliance.sync.device_sync import DeviceSync
        self.sync = DeviceSync(self.core, self.config, self.clock, self.clock_trust)
        return self.sync.start()

    def _start_push(self):
        from appliance.sync.push import PushEndpoint
        return PushEndpoint(self.core, self.config, self.clock, self.config.push.token_file.value,
                            self.clock_trust).start()

    def _start_dispenser(self):
        from appliance.printer.connection import open_printer

        from appliance.drivers.dispenser import TicketDispenser
        printer = self.config.printer
        self.dispenser = TicketDispenser(
            self.core, self.config,
            connect=lambda: open_printer(printer.uri, printer.profile, printer.timeout.total_seconds()),
            signals=self._signals, on_answer=self.show_kiosk_answer)
        self.dispenser.start()
        return self.dispenser

    def _start_reader(self, source):
        from appliance.drivers.readers import open_reader
        name = f"scanner {source_text(source)}"

        def on_health(state: str, detail: str) -> None:
            self.core.submit(ReportHealth(name, Health.OK if state == "ok" else Health.FAILED, detail))

        reader = open_reader(source, lambda payload, source: self.scan(payload, source), on_health,
                             self.config.scanner)
        return reader

    def _button_pins(self) -> dict[str, int]:
        return {c.name: c.button for c in self.config.concerns if c.button is not None}

    def _led_pins(self) -> dict[str, int]:
        gpio = self.config.gpio
        pins = {"ready": gpio.ready_led, "printing": gpio.printing_led, "fault": gpio.fault_led}
        return {role: pin for role, pin in pins.items() if pin is not None}

    def _start_panel(self):
        from appliance.domain.buttons import ButtonGate
        from appliance.drivers.gpio import GpioPanel
        gpio = self.config.gpio
        panel = None

        def on_fault(message: str) -> None:
            stuck = panel is not None and panel.stuck
            self.core.submit(ReportHealth("buttons", Health.DEGRADED if stuck else Health.OK,
                                          message if stuck else ""))

        panel = GpioPanel(self._button_pins(), on_press=self.press, on_fault=on_fault, leds=self._led_pins(),
                          buzzer=gpio.buzzer, gate=ButtonGate(gpio.min_gap.total_seconds(),
                                                              gpio.stuck_after.total_seconds()))
        self.panel = panel
        self.core.submit(ReportHealth("buttons", Health.OK))
        return panel

    # --- what drivers call: a visitor pressed a button, a scanner read a code ---------------------

    def press(self, concern: str, source: str = "button") -> None:
        if self.dispenser is not None:
            self.dispenser.request(concern, source)
        else:  # no printer, or it never started: say so rather than do nothing
            self.show_kiosk_answer(KioskAnswer(OUT_OF_ORDER, None, self.clock.now()))
            self._signals.show("OUT_OF_ORDER")
            self._signals.beep("refused")

    def scan(self, payload: str, source: str = "scanner") -> Future:
        """Check in what a scanner read; the visitor sees and hears the verdict."""
        future = self.core.submit(CheckIn(payload, source))

        def answer(done: Future) -> None:
            if isinstance(done.exception(), ClockNotTrusted):
                self.show_kiosk_answer(KioskAnswer(CLOCK_UNKNOWN, None, self.clock.now()))
                self._signals.beep("refused")
            elif done.exception() is None:
                result = done.result()
                self.show_kiosk_answer(KioskAnswer(result.message, result.display_code, self.clock.now()))
                self._signals.beep("accepted" if result.verdict.accepted else "refused")
        future.add_done_callback(answer)
        return future

    def _touch_press(self, request: dict) -> str:
        """A visitor chose a concern on the kiosk's touchscreen (the monitor process asks)."""
        concern = str(request.get("concern", ""))
        self.config.concern(concern)  # an unknown one is refused with the configured names
        self.press(concern, source="touch")
        return "pressed"

    def _judge(self, request: dict) -> dict:
        result = self.core.submit(JudgeScan(str(request.get("payload", "")))).result(timeout=5)
        return {"verdict": result.verdict.value, "display_code": result.display_code,
                "message": result.message.to_json()}

    def _print_day_list(self, request=None) -> str:
        if self.dispenser is None:
            raise ApplianceError("this device has no printer ([printer] uri)")
        self.dispenser.print_day_list()
        return "the day list is being printed"

    def show_kiosk_answer(self, answer) -> None:
        """The kiosk screen's answer to a press or a scan; the monitor process draws it."""
        self.kiosk_answer = answer
        self._bump_view()
        for listener in self.answer_listeners:
            listener(answer)

    def _on_snapshot(self, snapshot) -> None:
        self._bump_view()

    def _bump_view(self) -> None:
        with self._changed:
            self._view_serial += 1
            self._changed.notify_all()

    def views(self, keep_alive_s: float = 5.0):
        """What the monitor draws: a view now, then one after every change (and every few seconds,
        so the monitor can tell a quiet daemon from a dead connection)."""
        serial = None
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closing or self._view_serial != serial, keep_alive_s)
                if self._closing:
                    return
                serial = self._view_serial
            yield self.view(self.core.snapshot)

    def view(self, snapshot) -> dict:
        config = self.config
        return {
            "device": config.device.id,
            "site": config.device.site,
            "languages": list(config.device.languages),
            "timezone": config.device.timezone.key,
            "concerns": [{"name": c.name, "prefix": c.prefix, "title_de": c.title_de, "title_en": c.title_en}
                         for c in config.concerns],
            "snapshot": snapshot.to_json(),
            "waits": {concern: [low, high] for concern, low, high in snapshot.waits},
            "backend": {"stale_since": _iso(self.sync.stale_since if self.sync else None)},
            "kiosk": {
                "answer": self.kiosk_answer.to_json() if self.kiosk_answer else None,
                "out_of_order": self.dispenser.out_of_order if self.dispenser else None,
            },
        }

    def core_silent_for(self) -> float:
        return time.monotonic() - self.core.last_alive

    def summary(self) -> str:
        snapshot = self.core.snapshot
        degraded = ", ".join(f"{c.name} {c.state.value}" for c in snapshot.degraded)
        return (f"{snapshot.waiting_count()} waiting, {sum(n for _, n in snapshot.issued_today)} tickets today"
                + (f"; degraded: {degraded}" if degraded else ""))

    def status(self, request=None) -> dict:
        """Everything `entrance-appliance status` shows; no personal data."""
        snapshot = self.core.snapshot
        database = self.config.state.database
        return {
            "version": __version__,
            "device": self.config.device.id,
            "site": self.config.device.site,
            "roles": list(self.config.device.roles),
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "core_loop_silent_s": round(self.core_silent_for(), 2),
            "monitors_connected": self.control.subscribers,
            "state": {"path": str(database), "bytes": database.stat().st_size if database.exists() else 0,
                      "schema": self.store.schema_version},
            "snapshot": snapshot.to_json(),
        }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def run_daemon(config: AppConfig) -> int:
    """Run until SIGTERM or SIGINT; the exit code is for systemd."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from appliance.sync.clock_trust import time_synchronized
    appliance = Appliance(config, notifier=SystemdNotifier(), clock_trusted=time_synchronized())
    appliance.start()
    reported_block = False
    last_status = ""
    while not stop.wait(1.0):
        silent = appliance.core_silent_for()
        if silent > BLOCKED_AFTER_S and not reported_block:
            log.warning("core loop blocked for %.0f s: the watchdog will restart the daemon if it stays so", silent)
        reported_block = silent > BLOCKED_AFTER_S
        if not appliance.core.running:
            log.error("the core thread has ended; exiting so systemd restarts the daemon")
            appliance.stop()
            return 1
        status = appliance.summary()
        if status != last_status:
            appliance.notifier.status(status)
            last_status = status
    log.info("stopping on signal (pid %d)", os.getpid())
    appliance.stop()
    return 0


class _PanelSignals:
    """The dispenser's signals on the GPIO panel, when there is one (LEDs and buzzer)."""

    def __init__(self, appliance: Appliance):
        self._appliance = appliance

    def show(self, state: str) -> None:
        panel = getattr(self._appliance, "panel", None)
        if panel is not None:
            from appliance.drivers.gpio import PanelState
            panel.show(PanelState[state])

    def beep(self, kind: str) -> None:
        panel = getattr(self._appliance, "panel", None)
        if panel is not None:
            panel.beep(kind)
