"""The wiring: assembles the daemon, the monitor process and the command line from the layers below."""
