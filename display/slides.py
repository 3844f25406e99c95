"""The information slides: images from a folder, shown one after another, each scaled to fit.

Which slide is up follows from the time alone, so a redraw at any moment shows the right one.
"""

import logging
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

import pygame

log = logging.getLogger(__name__)

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
# A technician may drop new slides into the folder while the monitor runs; looking again
# once a minute is enough and costs one directory listing.
RESCAN_S = 60.0
# Scaled slides are large (a 1080p panel slide is ~3 MB); keep only the few in rotation nearby.
CACHE_SIZE = 3


class Slides:
    def __init__(self, folder: Path | None, interval_s: float = 10.0):
        self.folder = Path(folder) if folder else None
        self.interval_s = max(1.0, float(interval_s))
        self._paths: list[Path] = []
        self._scanned_at = float("-inf")
        self._scaled: OrderedDict[tuple[Path, tuple[int, int]], pygame.Surface] = OrderedDict()
        self._broken: set[Path] = set()

    def paths(self) -> list[Path]:
        if self.folder is None:
            return []
        if time.monotonic() - self._scanned_at > RESCAN_S:
            self._scanned_at = time.monotonic()
            try:
                self._paths = sorted(
                    p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES and p not in self._broken
                )
            except OSError as error:
                log.warning("slides folder %s cannot be read: %s", self.folder, error)
                self._paths = []
        return self._paths

    def index_at(self, now: datetime) -> int | None:
        paths = self.paths()
        return int(now.timestamp() // self.interval_s) % len(paths) if paths else None

    def next_change(self, now: datetime) -> float | None:
        """Seconds until the next slide, or None when nothing rotates."""
        if len(self.paths()) < 2:
            return None
        return self.interval_s - now.timestamp() % self.interval_s

    def image_at(self, now: datetime, box: tuple[int, int]) -> pygame.Surface | None:
        """The slide for ``now``, scaled to fit ``box`` keeping its proportions."""
        index = self.index_at(now)
        if index is None or box[0] < 8 or box[1] < 8:
            return None
        path = self._paths[index]
        key = (path, box)
        if key in self._scaled:
            self._scaled.move_to_end(key)
            return self._scaled[key]
        try:
            image = pygame.image.load(str(path))
        except (pygame.error, OSError) as error:
            log.warning("slide %s cannot be shown and is skipped: %s", path, error)
            self._broken.add(path)
            self._scanned_at = float("-inf")
            return None
        scale = min(box[0] / image.get_width(), box[1] / image.get_height())
        size = (max(1, round(image.get_width() * scale)), max(1, round(image.get_height() * scale)))
        scaled = pygame.transform.smoothscale(image.convert_alpha() if pygame.display.get_surface() else image, size)
        self._scaled[key] = scaled
        while len(self._scaled) > CACHE_SIZE:
            self._scaled.popitem(last=False)
        return scaled
