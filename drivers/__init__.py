"""Drivers translate the outside world (buttons, scanners, cameras) into core commands and back.

Each kind has its real driver and a simulated one; the simulated ones ship in the product because
the demo runs on them.
"""
