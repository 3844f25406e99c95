"""A second durable record of the numbers issued, beside the database: what state.db lost (a deleted or
cut -wal, an emptied file, an older copy put back) is still known here, and numbering goes on above it.

One line per ticket, appended and synced before its transaction commits (one small write and one
fdatasync); when opened, the file is rewritten with the newest day's lines only.
"""

import json
import os
from datetime import date, datetime
from pathlib import Path

from appliance.domain.errors import DiskFull, StateError


class HighWaterMarks:
    """The numbers issued on the newest day with a ticket, per concern, and the latest instant of issue.

    Read (and refused when damaged) on creation, without writing anything; ``open`` before ``note``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._numbers: dict[str, set[int]] = {}
        self.day: date | None = None  # the newest day with a ticket: numbering never goes back before it
        self.latest: datetime | None = None  # the latest instant a ticket was issued at
        for line in self._read():
            self._take(*line)
        self._file = None

    def open(self) -> None:
        """Compacts the file and opens it to record; once the state is this process's own (locked)."""
        self._rewrite()
        self._file = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def highest(self, day: date, concern: str, low: int, high: int) -> int | None:
        """The highest number of ``concern`` in ``low..high`` recorded for ``day``."""
        if day != self.day:
            return None
        return max((n for n in self._numbers.get(concern, ()) if low <= n <= high), default=None)

    def note(self, day: date, concern: str, number: int, at: datetime) -> None:
        """Records one issued number; durable on return."""
        line = json.dumps({"day": day.isoformat(), "concern": concern, "number": number, "at": at.isoformat()})
        try:
            self._file.write(line + "\n")
            self._file.flush()
            os.fdatasync(self._file.fileno())
        except OSError as error:
            raise DiskFull(f"{self.path} cannot be written ({error.strerror}): free some space") from error
        self._take(day, concern, number, at)

    def numbers(self) -> dict[str, int]:
        """The newest day's highest number per concern."""
        return {concern: max(numbers) for concern, numbers in self._numbers.items()}

    def _take(self, day: date, concern: str, number: int, at: datetime) -> None:
        if self.day is None or day > self.day:
            self.day, self._numbers = day, {}
        if day == self.day:
            self._numbers.setdefault(concern, set()).add(number)
        self.latest = max(self.latest or at, at)

    def _read(self) -> list[tuple[date, str, int, datetime]]:
        try:
            lines = self.path.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as error:
            raise StateError(f"{self.path} cannot be read ({error}); it is left untouched for inspection") from error
        read = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                read.append(
                    (
                        date.fromisoformat(record["day"]),
                        str(record["concern"]),
                        int(record["number"]),
                        datetime.fromisoformat(record["at"]),
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                if number == len(lines):
                    continue  # the last line, cut by a power loss while it was written: its ticket never committed
                raise StateError(
                    f"{self.path} line {number} is damaged ({error}): the record of the numbers issued cannot be "
                    "trusted, so no number is issued; it is left untouched for inspection"
                ) from None
        return read

    def _rewrite(self) -> None:
        """The newest day's lines only, replacing the file at once (a crash leaves the old or the new)."""
        partial = self.path.with_name(self.path.name + ".new")
        with open(partial, "w", encoding="utf-8") as file:
            for concern, numbers in sorted(self._numbers.items()):
                for number in sorted(numbers):
                    record = {"day": self.day.isoformat(), "concern": concern, "number": number}
                    file.write(json.dumps(record | {"at": self.latest.isoformat()}) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
