"""Live cameras that can fail: a grab that fails too often closes the device and reopens it with
back-off, instead of ending the inspection on a loose cable or a restarted RTSP server."""
from __future__ import annotations

import logging
import time
from typing import Iterator, Optional

import numpy as np

from edge.errors import CameraError
from edge.types import Frame
from edge.camera.base import Camera

log = logging.getLogger(__name__)


class LiveCamera(Camera):
    """Subclasses implement _open() (raise CameraError on failure), _read() -> RGB or None, _release()."""

    live = True  # frames arrive whether or not anyone keeps up: late ones are dropped downstream

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.reopens = 0  # successful reopens after a failure
        self._open()  # a camera that cannot open at start-up is a configuration error: fail now

    def _open(self) -> None:
        raise NotImplementedError

    def _read(self) -> Optional[np.ndarray]:
        raise NotImplementedError

    def _release(self) -> None:
        pass

    def _extras(self) -> dict:
        """More Frame fields from the last read (picamera2: the main stream)."""
        return {}

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _reopen(self) -> None:
        """Close, then reopen with doubling waits; CameraError once max_reopens attempts failed."""
        self._release()
        if self.cfg.max_reopens == 0:
            raise CameraError(f"camera gave up after {self.cfg.max_failures} failed grabs (camera.max_reopens is 0)")
        attempt = 0
        while True:
            delay = min(self.cfg.reopen_max_s, self.cfg.reopen_min_s * 2 ** attempt)
            log.warning("camera failed; reopening in %.1f s (attempt %d)", delay, attempt + 1)
            self._sleep(delay)
            try:
                self._open()
                self.reopens += 1
                log.info("camera reopened")
                return
            except CameraError as exc:
                attempt += 1
                if self.cfg.max_reopens is not None and attempt >= self.cfg.max_reopens:
                    raise CameraError(f"camera gave up after {attempt} reopen attempts: {exc}") from None

    def frames(self) -> Iterator[Frame]:
        index = 0
        failures = 0
        while True:
            try:
                rgb = self._read()
            except CameraError:
                rgb = None
            ts = time.time()
            if rgb is None:
                self.skipped += 1
                failures += 1
                if failures >= self.cfg.max_failures:
                    self._reopen()
                    failures = 0
                continue
            failures = 0
            yield Frame(rgb=rgb, ts=ts, index=index, **self._extras())
            index += 1

    def close(self) -> None:
        self._release()
