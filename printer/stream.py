"""Splits an ESC/POS byte stream into commands, for the printer emulator, its renderer and the dispenser.

Knows the length of every command a receipt printer commonly gets; unknown ones are skipped safely.
"""

from __future__ import annotations

from dataclasses import dataclass

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
# No command of this project comes close; a length beyond it is noise, not a reason to wait for more.
MAX_COMMAND_BYTES = 4 * 1024 * 1024

# Total length, prefix included, of the fixed-length commands.
_ESC_LENGTHS = {
    b"@": 2,
    b"!": 3,
    b"E": 3,
    b"-": 3,
    b"G": 3,
    b"M": 3,
    b"a": 3,
    b"t": 3,
    b"R": 3,
    b"{": 3,
    b"V": 3,
    b"r": 3,
    b"d": 3,
    b"J": 3,
    b"e": 3,
    b"2": 2,
    b"3": 3,
    b" ": 3,
    b"$": 4,
    b"\\": 4,
    b"p": 5,
    b"=": 3,
    b"%": 3,
    b"?": 3,
    b"i": 2,
    b"m": 2,
    b"T": 3,
    b"L": 2,
    b"S": 2,
    b"W": 10,
    b"<": 2,
    b"U": 3,
    b"c": 4,
    b"B": 4,
    b"C": 3,
    b"l": 3,
    b"u": 3,
    b"v": 2,
    b"K": 3,
    b"F": 3,
    b"j": 3,
}
_GS_LENGTHS = {
    b"!": 3,
    b"B": 3,
    b"b": 3,
    b"H": 3,
    b"h": 3,
    b"w": 3,
    b"f": 3,
    b"a": 3,
    b"r": 3,
    b"I": 3,
    b"L": 4,
    b"W": 4,
    b"P": 4,
    b"$": 4,
    b"\\": 4,
    b"^": 5,
    b"/": 3,
    b":": 2,
    b"E": 3,
    b"T": 3,
    b"|": 3,
    b"C": 3,
}
_FS_LENGTHS = {b".": 2, b"&": 2, b"!": 3, b"-": 3, b"p": 4, b"S": 4, b"W": 3, b"C": 3}
_CUT_WITH_FEED = {65, 66, 97, 98, 103, 104}
# The real-time commands: a printer answers them the moment they arrive, even in the middle of a job.
_DLE_NAMES = {0x04: "DLE EOT", 0x05: "DLE ENQ", 0x14: "DLE DC4"}
REALTIME = frozenset(_DLE_NAMES.values())


@dataclass(frozen=True)
class Command:
    """One command at ``buf[start:end]``; ``name`` like 'TEXT', 'LF', 'ESC a', 'GS v 0', 'GS ( k'."""

    name: str
    start: int
    end: int

    def params(self, buf: bytes, skip: int) -> bytes:
        """The bytes after the first ``skip`` bytes of the command."""
        return bytes(buf[self.start + skip : self.end])


def next_command(buf: bytes, i: int) -> Command | None:
    """The command starting at ``buf[i]``, or None when it is not complete yet (more bytes to come)."""
    n = len(buf)
    if i >= n:
        return None
    byte = buf[i]
    if byte >= 0x20:
        end = i + 1
        while end < n and buf[end] >= 0x20:
            end += 1
        return Command("TEXT", i, end)
    if byte in (ESC, GS, DLE, FS):
        return _prefixed(buf, i)
    name = {0x0A: "LF", 0x0D: "CR", 0x09: "HT", 0x0C: "FF", 0x18: "CAN"}.get(byte, "CTRL")
    return Command(name, i, i + 1)


def _prefixed(buf: bytes, i: int) -> Command | None:
    if i + 1 >= len(buf):
        return None
    lead, code = buf[i], bytes(buf[i + 1 : i + 2])
    if lead == DLE:
        name = _DLE_NAMES.get(code[0])
        if name is None:
            return Command("CTRL", i, i + 1)  # a lone DLE is no command; read on from the next byte
    else:
        prefix = "ESC" if lead == ESC else "GS" if lead == GS else "FS"
        name = f"{prefix} {code.decode('latin-1')}"
    length = _length(buf, i, lead, code)
    if length is None:
        return None
    if length > MAX_COMMAND_BYTES:
        return Command("BAD", i, i + 2)  # a length from noise: skip the prefix and read on
    if lead == GS and code in (b"v", b"(", b"8"):
        name = f"GS {code.decode()} {bytes(buf[i + 2 : i + 3]).decode('latin-1')}"
    if i + length > len(buf):
        return None
    return Command(name, i, i + length)


def _need(buf: bytes, end: int) -> bool:
    return end <= len(buf)


def _length(buf: bytes, i: int, lead: int, code: bytes) -> int | None:
    """Total length of the command at i, None when too few bytes arrived to tell."""
    if lead == ESC:
        if code == b"*":  # ESC * m nL nH: 8-dot columns take n bytes, 24-dot ones 3n
            if not _need(buf, i + 5):
                return None
            mode, count = buf[i + 2], buf[i + 3] + 256 * buf[i + 4]
            return 5 + count * (3 if mode in (32, 33) else 1)
        if code == b"D":  # tab positions, ended by NUL
            end = bytes(buf).find(b"\x00", i + 2)
            return None if end < 0 else end - i + 1
        return _ESC_LENGTHS.get(code, 2)
    if lead == GS:
        if code == b"V":
            if not _need(buf, i + 3):
                return None
            return 4 if buf[i + 2] in _CUT_WITH_FEED else 3
        if code == b"v":  # GS v 0 m xL xH yL yH d...
            if not _need(buf, i + 8):
                return None
            return 8 + (buf[i + 4] + 256 * buf[i + 5]) * (buf[i + 6] + 256 * buf[i + 7])
        if code == b"(":  # GS ( X pL pH ...
            if not _need(buf, i + 5):
                return None
            return 5 + buf[i + 3] + 256 * buf[i + 4]
        if code == b"8":  # GS 8 L p1 p2 p3 p4 ...
            if not _need(buf, i + 7):
                return None
            return 7 + int.from_bytes(bytes(buf[i + 3 : i + 7]), "little")
        if code == b"k":  # barcodes: NUL-terminated (m <= 6) or counted (m >= 65)
            if not _need(buf, i + 4):
                return None
            if buf[i + 2] <= 6:
                end = bytes(buf).find(b"\x00", i + 3)
                return None if end < 0 else end - i + 1
            return 4 + buf[i + 3]
        if code == b"*":
            if not _need(buf, i + 4):
                return None
            return 4 + buf[i + 2] * buf[i + 3] * 8
        return _GS_LENGTHS.get(code, 2)
    if lead == DLE:
        if code == b"\x14":  # DLE DC4 fn ...
            if not _need(buf, i + 3):
                return None
            return {1: 5, 2: 5, 7: 5, 8: 10}.get(buf[i + 2], 3)
        return 3  # DLE EOT n, DLE ENQ n
    return _FS_LENGTHS.get(code, 2)


CUTS = frozenset({"GS V", "ESC i", "ESC m"})


def split_at_cut(job: bytes) -> tuple[bytes, bytes]:
    """``job`` up to its last cut, and the cut with what follows it (b"" when it has none): a sender
    asks the printer how it is between the two, while the printed part can still be taken back."""
    i, cut_at = 0, len(job)
    while (command := next_command(job, i)) is not None:
        if command.name in CUTS:
            cut_at = command.start
        i = command.end
    return job[:cut_at], job[cut_at:]
