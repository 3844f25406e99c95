"""Drivers translate the outside world (buttons, scanners, cameras, the ticket printer) into core
commands and back; they decide nothing.
"""
