"""The printer package's exceptions: what went wrong between the appliance and its ticket printer.

Callers catch ``PrinterError``; each message names the printer and says what a technician can do.
"""


class PrinterError(Exception):
    """A ticket printer could not be set up, reached or used."""


class PrinterConfigError(PrinterError, ValueError):
    """A printer URI or capability profile in the configuration is wrong."""


class PrinterTimeout(PrinterError, TimeoutError):
    """The printer did not take the data or answer within the time allowed."""


class PrinterGone(PrinterError, ConnectionError):
    """The printer is not there: unplugged, switched off, refused or dropped the connection."""
