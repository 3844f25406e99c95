"""`entrance-appliance status` for people: health first, then queues and the latest events."""


def format_status(status: dict) -> str:
    snapshot = status["snapshot"]
    components = snapshot["components"]
    bad = [c for c in components if c["state"] not in ("ok", "starting")]
    lines = [
        f"entrance-appliance {status['version']}: device {status['device']} at site {status['site']} "
        f"({', '.join(status['roles'])})",
        f"overall: {'DEGRADED' if bad else 'ok'}; up {status['uptime_s']:.0f} s; core loop last ran "
        f"{status['core_loop_silent_s']:.1f} s ago",
        "components:",
    ]
    lines.insert(2, f"monitors connected: {status.get('monitors_connected', 0)}")
    supervised = {watched["name"]: watched for watched in status.get("supervised", [])}
    for component in components:
        detail = f" - {component['detail']}" if component["detail"] else ""
        lines.append(f"  {component['name']:<12} {component['state']:<9} since {component['since'][:19]}{detail}")
        watched = supervised.get(component["name"])
        if watched and watched["restarts"]:
            lines.append(f"  {'':<12} restarted {watched['restarts']} time(s); last error: {watched['last_error']}")
    waiting: dict[str, int] = {}
    for entry in snapshot["waiting"]:
        waiting[entry["concern"]] = waiting.get(entry["concern"], 0) + 1
    lines.append(
        f"day {snapshot['day']}: {len(snapshot['waiting'])} waiting, "
        f"{sum(n for _, n in snapshot['issued_today'])} tickets issued"
    )
    for concern, issued in snapshot["issued_today"]:
        lines.append(f"  {concern:<24} issued {issued:>4}  waiting {waiting.get(concern, 0):>4}")
    lines.append(f"outbox: {snapshot['outbox_pending']} event(s) not yet delivered to the backend")
    state = status["state"]
    lines.append(f"state: {state['path']} ({state['bytes']} bytes, schema {state['schema']})")
    if snapshot["last_events"]:
        lines.append("last events:")
        lines += [f"  {event['at'][:19]}  {event['kind']}" for event in snapshot["last_events"]]
    return "\n".join(lines) + "\n"
