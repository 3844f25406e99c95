"""What visitors see: the call-up monitor and the kiosk screen, drawn from the core's snapshots."""
