"""entrance-appliance: check-in, waiting tickets and call-up monitor for a public office's entrance zone."""

__version__ = "0.1.0"
