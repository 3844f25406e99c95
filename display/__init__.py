"""What visitors see: the call-up monitor and the kiosk screen, drawn from the core's snapshots."""

import os

# pygame prints a greeting on import; in the journal it would be a stray line per start.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
