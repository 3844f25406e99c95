"""The reference central backend: the whole sync protocol over HTTP, on its own SQLite database.

Another program than the device: it shares only ``appliance.protocol`` with it.
"""

__version__ = "0.1.0"
