"""The drivers' exceptions, all in one place: what went wrong between the appliance and its
scanners, cameras, decoders and GPIO pins. Callers catch ``DriverError`` (or ``ApplianceError``).
"""

from appliance.domain.errors import ApplianceError


class DriverError(ApplianceError):
    """Base class of every error a driver raises on purpose."""


class BadDriverSetting(DriverError, ValueError):
    """A driver was given a setting it cannot work with; the message names it and what would do."""


class BadScannerSource(DriverError, ValueError):
    """A scanner source is none of the forms a reader understands; the message shows them."""


class DeviceNotFound(DriverError, LookupError):
    """No input device matches the selector right now (unplugged, or a typo in the config)."""


class DeviceGone(DriverError, OSError):
    """The open input device went away: unplugged, or the stream of events ended."""


class DecoderUnavailable(DriverError, ImportError):
    """A QR decoder's library (or, for pyzbar, Debian's libzbar0) is not installed."""


class GpioUnavailable(DriverError):
    """A GPIO pin cannot be opened; the message names the pin and the cause."""
