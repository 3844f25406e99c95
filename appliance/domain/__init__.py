"""The domain: the core thread that owns the state, its commands and snapshots, and the rules.

It imports nothing outward: drivers, display, sync and the wiring depend on it, never the reverse.
"""
