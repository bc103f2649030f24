"""The classifier runs a frame's tiles as one batch, with the same int8 outputs as one tile at a time; a
graph written for one tile (Flatten -> Reshape to [1, n]) falls back to one tile at a time. The segmenter
gives each tile what it gives it alone."""
import numpy as np
import pytest

from convert.tflite import _raw_pixels_info, to_int8_tflite
from edge.models.bundle import Bundle, TensorInfo, load_bundle, sha256_of, write_model_json
from edge.models.classifier import Classifier
from edge.models.interpreter import load_interpreter
from edge.models.preprocess import to_model_input
from edge.sim import make_patches

pytestmark = pytest.mark.tf

SIZE = 32


def _bundle(tmp_path, arch) -> Bundle:
    import keras

    from train.models import build_model

    keras.utils.set_random_seed(0)
    images, _, _ = make_patches(40, size=SIZE, seed=0)
    folder = tmp_path / arch
    folder.mkdir()
    (folder / "model.tflite").write_bytes(to_int8_tflite(build_model(arch, input_size=SIZE), images))
    details = load_interpreter(folder / "model.tflite")
    tensors = [details.get_input_details()[0], details.get_output_details()[0]]
    inp, out = (TensorInfo(shape=[int(d) for d in t["shape"]], dtype="int8", scale=float(t["quantization"][0]),
                           zero_point=int(t["quantization"][1])) for t in tensors)
    info = _raw_pixels_info(SIZE).model_copy(update={"name": arch, "sha256": sha256_of(folder / "model.tflite"),
                                                     "input": inp, "output": out})
    write_model_json(folder, info)
    return load_bundle(folder)


def _one_at_a_time(bundle, images):
    interp = load_interpreter(bundle.model_path, 1)
    i_in, i_out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    out = []
    for x in to_model_input(images, bundle.info):
        interp.set_tensor(i_in, x[None])
        interp.invoke()
        out.append(interp.get_tensor(i_out).ravel()[-1])
    return (np.asarray(out, np.float32) - bundle.info.output.zero_point) * bundle.info.output.scale


@pytest.mark.parametrize("arch, batches", [("small_cnn_lean", True), ("small_cnn", False)])
def test_batched_tiles_equal_single_tiles(tmp_path, arch, batches):
    bundle = _bundle(tmp_path, arch)
    images, _, _ = make_patches(30, size=SIZE, seed=5)
    classifier = Classifier(bundle, threads=2)
    # frames of 12 tiles, then a lone tile, then 17: the batch follows the count
    got = np.concatenate([classifier.classify(images[:12]), classifier.classify(images[12]),
                          classifier.classify(images[13:])])
    assert np.array_equal(got, _one_at_a_time(bundle, images))
    assert classifier.batches is batches
    assert classifier.classify(images[:0]).shape == (0,)


def test_segmenter_tiles_together_equal_one_at_a_time():
    from pathlib import Path

    from edge.models.segmenter import Segmenter

    bundle = load_bundle(Path(__file__).resolve().parents[2] / "models" / "crack_segmenter")
    tiles, _, _ = make_patches(5, size=bundle.info.tile.size, seed=2)
    segmenter = Segmenter(bundle, threads=2)
    together = segmenter.segment(tiles)
    alone = np.stack([segmenter.segment(tile)[0] for tile in tiles])
    assert together.shape == (5, bundle.info.tile.size, bundle.info.tile.size)
    assert np.array_equal(together, alone)
    assert segmenter.segment(tiles[:0]).shape == (0, bundle.info.tile.size, bundle.info.tile.size)


def test_inputs_beyond_one_batch_are_padded_not_replanned(tmp_path, monkeypatch):
    import edge.models.batched

    monkeypatch.setattr(edge.models.batched, "MAX_BATCH", 8)
    bundle = _bundle(tmp_path, "small_cnn_lean")
    images, _, _ = make_patches(19, size=SIZE, seed=7)
    classifier = Classifier(bundle, threads=2)
    resizes = []
    runner = classifier.engine
    original = runner._resize
    monkeypatch.setattr(runner, "_resize", lambda b: (resizes.append(b), original(b)))
    got = np.concatenate([classifier.classify(images), classifier.classify(images)])  # 8 + 8 + 3 (padded), twice
    assert resizes == [8]
    assert np.array_equal(got, np.concatenate([_one_at_a_time(bundle, images)] * 2))


@pytest.mark.parametrize("arch", ["small_cnn_lean", "small_cnn"])
def test_a_frames_tile_grid_gives_what_its_tiles_give(tmp_path, arch):
    from edge.frame.tiler import TileGrid

    bundle = _bundle(tmp_path, arch)
    frame = np.random.default_rng(2).integers(0, 256, (75, 110, 3), dtype=np.uint8)  # 3 x 4 tiles, both borders padded
    grid = TileGrid(frame, SIZE, SIZE)
    assert (grid.rows, grid.cols) == (3, 4)
    classifier = Classifier(bundle, threads=2)
    got = classifier.classify(grid)  # row by row, read from the frame
    assert np.array_equal(got, _one_at_a_time(bundle, np.asarray(grid)))
