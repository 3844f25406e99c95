"""The running appliance: which components this device starts, on one core, and its lifecycle.

``run_daemon`` is what systemd starts; the demo builds the same Appliance on a simulated clock.
The kiosk's answers, the control requests, the status and the watchdog have modules of their own.
"""

import logging
import os
import signal
import threading

from appliance import __version__
from appliance.app.control import ControlServer
from appliance.app.control_requests import ControlRequests
from appliance.app.kiosk import Kiosk
from appliance.app.sdnotify import SystemdNotifier
from appliance.app.status import DeviceStatus
from appliance.app.supervisor import Supervisor
from appliance.app.view import monitor_view
from appliance.app.watchdog import Watchdog
from appliance.domain.clock import SystemClock
from appliance.domain.commands import Health, ReportHealth
from appliance.domain.component import Component, ComponentName, error_line
from appliance.domain.config import AppConfig
from appliance.domain.core import Core
from appliance.domain.journal import use_hash_key
from appliance.domain.state import StateStore
from appliance.protocol.control import Request

log = logging.getLogger(__name__)


class Appliance:
    def __init__(
        self, config: AppConfig, clock=None, notifier: SystemdNotifier | None = None, clock_trusted: bool = True
    ):
        self.config = config
        self.clock = clock or SystemClock()
        self.notifier = notifier or SystemdNotifier(address=None)
        self.watchdog = Watchdog(self.notifier)
        self.store = StateStore(config.state.database)  # refuses damaged or newer files
        use_hash_key(config.state.database.parent / "log.key")
        # Production decides at start (run_daemon); the demo and tests run on a clock they set themselves.
        self.core = Core(
            config,
            self.store,
            self.clock,
            on_alive=self.watchdog.feed,
            clock_trusted=clock_trusted,
            calls_by_backend=config.backend.url is not None,
        )
        self.supervisor = Supervisor(self.core)
        self.kiosk = Kiosk(
            self.core,
            self.clock,
            languages=config.device.languages,
            language_idle_s=config.monitor.language_idle.total_seconds(),
        )
        self.kiosk.listeners.append(self._on_answer)
        self.kiosk.control_listeners.append(self._on_answer)
        self.clock_trust = None
        self.sync = None
        self.dispenser = None
        self._changed = threading.Condition()
        self._closing = False
        self._view_serial = 0
        self.core.subscribe(self._on_snapshot)
        self.status = DeviceStatus(
            config, self.core, self.store, self.supervisor, subscribers=lambda: self.control.subscribers
        )
        requests = ControlRequests(config, self.core, self.kiosk, self.status.status)
        self.control = ControlServer(
            config.core.control_socket, requests.handlers(), streams={Request.SUBSCRIBE: self.views}
        )

    @property
    def kiosk_answer(self):
        return self.kiosk.answer

    def start(self) -> None:
        self.core.start()
        self.control.start()
        for build in self._builders():
            self._supervise(*build)
        self.supervisor.start()
        log.info(
            "entrance-appliance %s ready: device %s at site %s, roles %s",
            __version__,
            self.config.device.id,
            self.config.device.site,
            ", ".join(self.config.device.roles),
        )
        self.notifier.ready(status=self.status.summary())

    def stop(self) -> None:
        self.notifier.stopping(status="stopping")
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self.supervisor.stop()
        self.control.close()
        self.core.stop()
        self.store.close()
        log.info("stopped")

    # --- components: what this device runs; the supervisor starts, watches and restarts them -----

    def _builders(self) -> list[tuple[str, object]]:
        """(name, build) for each component of this device, in start order; ``build()`` makes it."""
        roles, config = self.config.device.roles, self.config
        builders: list[tuple[str, object]] = [(ComponentName.CLOCK, self._clock_trust)]
        if "kiosk" in roles and config.printer.uri:
            builders.append((ComponentName.PRINTER, self._dispenser))
        if "kiosk" in roles and (self._button_pins() or self._led_pins() or self._control_pins()):
            builders.append((ComponentName.BUTTONS, self._panel))
        if "kiosk" in roles:
            builders += [
                (f"scanner {source}", lambda source=source: self._reader(source)) for source in config.scanner.inputs
            ]
        if config.backend.url:
            builders.append((ComponentName.BACKEND, self._sync))
        if config.push.enabled:
            builders.append((ComponentName.PUSH, self._push))
        return builders

    def _supervise(self, name: str, build) -> None:
        try:
            component: Component = build()
        except Exception as error:  # a setting no restart can mend: said once, the others run on
            log.error("%s could not be set up: %s", name, error_line(error))
            self.core.submit(ReportHealth(name, Health.FAILED, f"could not be set up: {error_line(error)}"))
            return
        self.supervisor.add(component)

    def _clock_trust(self):
        from appliance.sync.clock_trust import ClockTrust

        backend = self.config.backend
        self.clock_trust = ClockTrust(
            self.core,
            self.clock,
            backend.clock_tolerance.total_seconds(),
            trusted=self.core.clock_trusted,
            warning_s=backend.clock_warning.total_seconds(),
        )
        return self.clock_trust

    def _sync(self):
        from appliance.sync.device_sync import DeviceSync

        self.sync = DeviceSync(self.core, self.config, self.clock, self.clock_trust)
        return self.sync

    def _push(self):
        from appliance.sync.push import PushEndpoint

        return PushEndpoint(self.core, self.config, self.clock, self.config.push.token_file.value, self.clock_trust)

    def _dispenser(self):
        from appliance.drivers.dispenser import TicketDispenser
        from appliance.printer.connection import open_printer

        printer = self.config.printer
        self.dispenser = TicketDispenser(
            self.core,
            self.config,
            connect=lambda: open_printer(printer.uri, printer.profile, printer.timeout.total_seconds()),
            signals=self.kiosk,
            on_answer=self.kiosk.show_answer,
            draw=self._draw,
        )
        self.kiosk.dispenser = self.dispenser
        return self.dispenser

    def _draw(self, concern: str):
        """The office's number for a press (the sync draws it); None: the core numbers the ticket itself."""
        return self.sync.numbers.draw(concern) if self.sync is not None else None

    def _reader(self, source):
        """``source``: a parsed ``appliance.drivers.readers.Source`` from ``[scanner] inputs``."""
        from appliance.drivers.readers import open_reader

        reader = None

        def on_health(state: str, detail: str) -> None:
            self.core.submit(ReportHealth(reader.name, Health.OK if state == "ok" else Health.FAILED, detail))

        reader = open_reader(source, self.kiosk.scan, on_health, self.config.scanner)
        return reader

    def _button_pins(self) -> dict[str, int]:
        return {c.name: c.button for c in self.config.concerns if c.button is not None}

    def _control_pins(self) -> dict[str, int]:
        gpio = self.config.gpio
        pins = {"repeat": gpio.repeat_button, "volume": gpio.volume_button, "language": gpio.language_button}
        return {name: pin for name, pin in pins.items() if pin is not None}

    def _led_pins(self) -> dict[str, int]:
        gpio = self.config.gpio
        pins = {"ready": gpio.ready_led, "printing": gpio.printing_led, "fault": gpio.fault_led}
        return {role: pin for role, pin in pins.items() if pin is not None}

    def _panel(self):
        from appliance.domain.buttons import ButtonGate
        from appliance.drivers.gpio import GpioPanel

        gpio = self.config.gpio
        panel = None

        def on_fault(message: str) -> None:
            stuck = panel is not None and panel.stuck
            self.core.submit(
                ReportHealth(GpioPanel.name, Health.DEGRADED if stuck else Health.OK, message if stuck else "")
            )

        panel = GpioPanel(
            self._button_pins(),
            on_press=self.kiosk.press,
            on_fault=on_fault,
            leds=self._led_pins(),
            buzzer=gpio.buzzer,
            controls=self._control_pins(),
            on_control=self.kiosk.control,
            gate=ButtonGate(gpio.stuck_after.total_seconds()),
        )
        self.kiosk.panel = panel
        return panel

    # --- the monitor's views: a new one after every change -----------------------------------------

    def _on_answer(self, answer_or_control) -> None:
        self._bump_view()

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
                self._changed.wait_for(lambda: self._closing or self._view_serial != serial, keep_alive_s)  # noqa: B023 (waited on before the loop moves on)
                if self._closing:
                    return
                serial = self._view_serial
            yield self.view(self.core.snapshot)

    def view(self, snapshot) -> dict:
        return monitor_view(
            self.config,
            snapshot,
            kiosk_answer=self.kiosk_answer,
            kiosk_language=self.kiosk.language,
            kiosk_controls=self.kiosk.controls,
            out_of_order=self.dispenser.out_of_order if self.dispenser else None,
            stale_since=self.sync.stale_since if self.sync else None,
        )


def run_daemon(config: AppConfig) -> int:
    """Run until SIGTERM or SIGINT; the exit code is for systemd."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from appliance.sync.clock_trust import time_synchronized

    appliance = Appliance(config, notifier=SystemdNotifier(), clock_trusted=time_synchronized())
    appliance.start()
    while not stop.wait(1.0):
        if not appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status, appliance.control):
            appliance.stop()
            return 1
    log.info("stopping on signal (pid %d)", os.getpid())
    appliance.stop()
    return 0
