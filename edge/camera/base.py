"""What every camera backend offers: an iterator of Frames, a skip counter, and close()."""
from __future__ import annotations

from typing import Iterator, Optional

from edge.types import Frame


class Camera:
    """Base class: backends implement frames(); callers use it as a context manager."""

    def __init__(self):
        self.skipped = 0  # frames that could not be read (corrupt file, failed grab)
        self.too_large = 0  # frames over max_pixels, skipped (counted in skipped too)
        self.max_pixels: Optional[int] = None  # set by the runner from pipeline.max_frame_pixels

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
