"""The photos to inspect as a camera: the folder camera's reading (headers checked, unreadable files
skipped and counted) over a list of files, remembering which file became which frame."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, Iterator, List, Sequence

import cv2

from edge.camera.folder import IMAGE_SUFFIXES, FolderCamera
from edge.errors import CameraError
from edge.types import Frame


def photo_files(paths: Sequence) -> List[Path]:
    """Photos named on the command line: files as given, folders' images in name order (not recursive)."""
    files: List[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files += sorted(p for p in given.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif given.is_file():
            files.append(given)
        else:
            raise CameraError(f"{given}: no such photo or folder")
    if not files:
        raise CameraError(f"no photos ({', '.join(sorted(IMAGE_SUFFIXES))}) in {', '.join(map(str, paths))}")
    return files


class PhotoCamera(FolderCamera):
    live = False

    def __init__(self, files: Sequence[Path]):  # noqa: D107 - no folder config: the files are given
        self.skipped, self.too_large, self.max_pixels = 0, 0, None
        self.files = list(files)
        self.path_of: Dict[int, Path] = {}  # frame index -> its photo

    def frames(self) -> Iterator[Frame]:
        start, index = time.time(), 0
        for path in self.files:
            bgr = self._read(path)
            if bgr is None:
                continue
            self.path_of[index] = path
            # the scale comes from the config (scale.mm_per_px), added by the pose attacher
            yield Frame(rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts=start + index, index=index)
            index += 1
