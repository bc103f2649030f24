"""Per-pixel crack probability for tiles, with a LiteRT interpreter, fed as model.json says.

The bundle's tile.size is the tile cut from the frame; the model's input S x S comes from
model.json too. A tile is resized to S, and the S x S probability map back to the tile size.
"""
from __future__ import annotations

import cv2
import numpy as np

from .batched import BatchedRunner
from .bundle import Bundle
from .classifier import _check_tensor
from .errors import ModelError
from .interpreter import load_interpreter
from .preprocess import dequantize, to_model_input


class Segmenter:
    """segment(): resize, preprocess, invoke, dequantize, resize back."""

    def __init__(self, bundle: Bundle, threads: int = 2):
        info = bundle.info
        if info.task != "segmentation":
            raise ModelError(f"{bundle.folder}: task is {info.task}, expected segmentation")
        if len(info.input.shape) != 4 or info.input.shape[0] != 1 or info.input.shape[3] != 3:
            raise ModelError(f"{bundle.folder}/model.json: input shape {info.input.shape} is not [1, S, S, 3]")
        if len(info.output.shape) != 4 or info.output.shape[1:3] != info.input.shape[1:3] or info.output.shape[3] != 1:
            raise ModelError(f"{bundle.folder}/model.json: output shape {info.output.shape} is not [1, S, S, 1] "
                             f"for input {info.input.shape}")
        self.info = info
        self.name = info.name
        self.sha256 = info.sha256
        self.tile_size = info.tile.size
        self.threshold = info.threshold
        interp = load_interpreter(bundle.model_path, threads)
        inp = interp.get_input_details()
        out = interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{bundle.model_path}: expected one input and one output tensor")
        _check_tensor("input", inp[0], info.input, bundle.model_path)
        _check_tensor("output", out[0], info.output, bundle.model_path)
        # One tile per invoke: the count of tiles to segment changes from frame to frame, and re-planning
        # the interpreter for every count cost more memory (edge RSS 230 -> 400 MB) than a batch saves.
        self._runner = BatchedRunner(interp, inp[0]["index"], out[0]["index"], info.input.shape, self.name,
                                     batches=False)

    @property
    def model_size(self) -> tuple:
        return self.info.input.shape[1], self.info.input.shape[2]

    def segment(self, tiles: np.ndarray) -> np.ndarray:
        """(N, T, T, 3) uint8 RGB tiles -> (N, T, T) float32 crack probabilities (T = tile.size)."""
        return segment_tiles(tiles, self.tile_size, self.info, self._runner.run)


def segment_tiles(tiles: np.ndarray, tile_size: int, info, run) -> np.ndarray:
    """What every segmenter backend does around its model: the tiles resized to the model's S x S,
    preprocessed, `run` ((N, S, S, 3) inputs -> their (N, S, S, 1) raw outputs), dequantized and
    resized back to the tile."""
    if tiles.ndim == 3:
        tiles = tiles[None]
    n, t = len(tiles), tiles.shape[1]
    if tiles.shape[1:3] != (tile_size, tile_size):
        raise ValueError(f"tiles are {tiles.shape[1:3]}, model.json tile.size is {tile_size}")
    sh, sw = info.input.shape[1], info.input.shape[2]
    if (sh, sw) != (t, t):
        shrink = cv2.INTER_AREA if sh < t else cv2.INTER_LINEAR
        tiles = np.stack([cv2.resize(tile, (sw, sh), interpolation=shrink) for tile in tiles]) if n else \
            np.empty((0, sh, sw, 3), np.uint8)
    probs = dequantize(run(to_model_input(tiles, info))[..., 0], info.output)
    if (sh, sw) == (t, t):
        return probs
    out = np.empty((n, t, t), np.float32)
    for i in range(n):
        out[i] = cv2.resize(probs[i], (t, t), interpolation=cv2.INTER_LINEAR)
    return out
