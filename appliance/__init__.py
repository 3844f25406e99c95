"""entrance-appliance: check-in, waiting tickets and call-up monitor for a public office's entrance zone.

The layers, each importing only those below it (import-linter checks this in CI):

- ``appliance.app``: the wiring: daemon, supervisor, control socket, CLI, demo;
- ``appliance.drivers``, ``appliance.display``, ``appliance.sync``: adapters that translate the
  outside world (scanners, buttons, printers, screens, the central backend) into core commands;
- ``appliance.domain``: the rules, the state, the core thread and the config schema; no I/O but SQLite;
- ``appliance.printer`` and ``appliance.protocol``: libraries that stand alone (ESC/POS tickets; the
  wire protocol shared with the central backend, which is another program: ``entrance_backend``).
"""

__version__ = "0.1.0"
