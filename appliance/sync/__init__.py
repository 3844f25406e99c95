"""The device's side of the backend protocol: the outbox, day lists, live calls, clock trust, push."""
