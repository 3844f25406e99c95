"""USB QR scanners in keyboard-wedge mode: read through evdev, grabbed so no console sees them.

One ``EvdevScanner`` per scanner: its thread finds the device, grabs it, turns key events into
codes (``drivers.keymap``), and reopens the device after an unplug without a restart.
"""

import errno
import logging
import os
import re
import select
import stat
from dataclasses import dataclass

import evdev
from evdev import ecodes

from appliance.domain.backoff import Backoff
from appliance.drivers.code_reader import FAILED, OK, CodeReader, OnCode, OnHealth
from appliance.drivers.errors import BadScannerSource, DeviceGone, DeviceNotFound
from appliance.drivers.keymap import DEFAULT_MAX_GAP_S, DEFAULT_MAX_LENGTH, KeyDecoder

log = logging.getLogger("appliance.drivers.evdev_scanner")


@dataclass(frozen=True)
class DeviceSelector:
    """Which device a scanner config means: a path (best: /dev/input/by-id/…), a USB
    ``vendor:product`` in hex (e.g. ``05e0:1200``), or a substring of the device's name."""

    kind: str  # "path", "usb_id" or "name"
    value: str

    @classmethod
    def parse(cls, text: str) -> "DeviceSelector":
        text = text.strip()
        if not text:
            raise BadScannerSource(
                "empty scanner device: give a /dev/input/by-id/… path, "
                "a vendor:product like 05e0:1200, or part of the device name"
            )
        if text.startswith("/"):
            return cls("path", text)
        if re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", text):
            return cls("usb_id", text.lower())
        return cls("name", text)

    def matches(self, name: str, vendor: int, product: int) -> bool:
        """Whether a device with this name and USB ids is the one meant (not for "path")."""
        if self.kind == "usb_id":
            return f"{vendor:04x}:{product:04x}" == self.value
        if self.kind == "name":
            return self.value.casefold() in name.casefold()
        return False

    def __str__(self) -> str:
        return self.value


class EventStream(evdev.InputDevice):
    """An InputDevice over a FIFO that carries raw ``struct input_event`` records.

    Reads go through evdev's own read path; there is no kernel device behind it, so nothing
    that needs an ioctl works (``grab`` fails with ENOTTY). The writer must write whole records,
    at most PIPE_BUF bytes at a time (such writes are atomic), because evdev's reader drops a
    partial record as the kernel never hands one out. Used to replay recorded key events and by
    the tests on machines without /dev/uinput.
    """

    def __init__(self, path: str):
        # evdev's __init__ asks the kernel for identity and capabilities, which a FIFO has not.
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.info = evdev.DeviceInfo(0, 0, 0, 0)
        self.name = f"event stream {os.path.basename(path)}"
        self.phys = ""
        self.uniq = ""
        self.version = 0
        self._rawcapabilities = {}
        self.ff_effects_count = 0


def open_event_device(path: str) -> evdev.InputDevice:
    """Open ``path`` as an input device: an evdev node, or a FIFO of recorded events."""
    if stat.S_ISFIFO(os.stat(path).st_mode):
        return EventStream(path)
    return evdev.InputDevice(path)


def _types_text(device: evdev.InputDevice) -> bool:
    keys = device.capabilities().get(ecodes.EV_KEY, [])
    return ecodes.KEY_ENTER in keys or ecodes.KEY_KPENTER in keys


def find_candidates(selector: DeviceSelector, input_dir: str = "/dev/input") -> list[str]:
    """Event device paths that match a name or vendor:product selector, keyboards first.

    A scanner often shows several event nodes (keyboard, consumer keys); only the one that can
    type Enter carries codes.
    """
    typing, others = [], []
    paths = evdev.list_devices(input_dir, writable=False)
    paths.sort(key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
    for path in paths:
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue  # gone meanwhile, or not ours to read
        try:
            if selector.matches(device.name, device.info.vendor, device.info.product):
                (typing if _types_text(device) else others).append(path)
        finally:
            device.close()
    return typing + others


class EvdevScanner(CodeReader):
    """A keyboard-wedge scanner read on its own thread; two scanners are two of these.

    ``grab=False`` skips EVIOCGRAB. An event stream (a FIFO, as a config may name one) is never
    grabbed: no console reads it, and it has no kernel device to grab.
    A device grabbed by another program is skipped in favour of the next match, so two identical
    scanners selected by vendor:product end up with one reader each.
    """

    def __init__(
        self,
        selector: str,
        on_code: OnCode,
        on_health: OnHealth,
        *,
        layout: str = "us",
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        max_length: int = DEFAULT_MAX_LENGTH,
        grab: bool = True,
        input_dir: str = "/dev/input",
        label: str | None = None,
        retry_initial_s: float = 0.25,
        retry_max_s: float = 5.0,
    ):
        self.selector = DeviceSelector.parse(selector)
        KeyDecoder(layout, max_gap_s=max_gap_s, max_length=max_length)  # fail early on bad options
        super().__init__(label or f"scanner {self.selector}", on_code, on_health, log)
        self._decoder_options = dict(layout=layout, max_gap_s=max_gap_s, max_length=max_length)
        self._grab = grab
        self._input_dir = input_dir
        self._retry = (retry_initial_s, retry_max_s)
        self._wake_r = self._wake_w = -1

    def start(self) -> None:
        self._wake_r, self._wake_w = os.pipe()  # stop() writes to it to end a waiting poll
        super().start()

    def stop(self, timeout: float = 2.0) -> bool:
        stopped = super().stop(timeout)
        if stopped:  # a reader still running keeps its descriptors rather than see them reused
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._wake_r = self._wake_w = -1
        return stopped

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # -- the reader thread -----------------------------------------------------------------
    def _run(self) -> None:
        backoff = Backoff(*self._retry)
        while not self._stop.is_set():
            try:
                device = self._open()
            except (DeviceNotFound, OSError) as exc:
                self._report(FAILED, str(exc))
                if self._stop.wait(backoff.next_delay()):
                    break
                continue
            backoff.reset()
            self._report(OK, f"{device.name} at {device.path}")
            try:
                self._read(device)
            except DeviceGone as exc:
                self._report(FAILED, str(exc))
            except Exception:  # a bug must not end the reader; the next open starts clean
                self._log.exception("%s: reader error; reopening", self.label)
                self._report(FAILED, "reader error (see log); reopening")
                self._stop.wait(backoff.next_delay())
            finally:
                try:
                    device.close()  # closing also ends the grab
                except OSError:
                    pass

    def _open(self) -> evdev.InputDevice:
        if self.selector.kind == "path":
            paths = [self.selector.value]
            if not os.path.exists(self.selector.value):
                raise DeviceNotFound(f"{self.selector.value} not found (unplugged?)")
        else:
            paths = find_candidates(self.selector, self._input_dir)
            if not paths:
                what = "vendor:product" if self.selector.kind == "usb_id" else "name containing"
                raise DeviceNotFound(f"no input device with {what} {self.selector.value!r} (unplugged?)")
        busy = []
        for path in paths:
            device = open_event_device(path)
            if not self._grab or isinstance(device, EventStream):
                return device
            try:
                device.grab()
                return device
            except OSError as exc:
                device.close()
                if exc.errno == errno.EBUSY:
                    busy.append(path)
                    continue
                raise OSError(exc.errno, f"cannot grab {path} exclusively: {exc.strerror}") from exc
        raise OSError(errno.EBUSY, f"{', '.join(busy)} grabbed by another program")

    def _read(self, device: evdev.InputDevice) -> None:
        decoder = KeyDecoder(**self._decoder_options)  # fresh modifier state for each open
        poller = select.poll()  # not select(): a daemon's descriptors may be numbered past 1024
        poller.register(device.fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while not self._stop.is_set():
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_r in ready:
                return
            try:
                events = list(device.read())
            except BlockingIOError:
                continue
            except OSError as exc:  # ENODEV after an unplug; poll keeps reporting it readable
                raise DeviceGone(f"{device.path} lost: {exc.strerror or exc}") from exc
            if not events:
                raise DeviceGone(f"{device.path} closed (end of event stream)")
            for event in events:
                code = decoder.feed(event)
                if code is not None:
                    self._deliver(code)
