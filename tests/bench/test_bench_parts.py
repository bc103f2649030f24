"""The bench's parts: MACs counted from a real int8 .tflite, the per-layer models, the timing helper, the edge
config it runs."""
from __future__ import annotations

import numpy as np
import pytest

from bench.macs import count_macs
from bench.timing import time_call
from edge.models.interpreter import load_interpreter


@pytest.mark.tf
def test_macs_of_conv_depthwise_dense(tmp_path):
    import keras

    from convert.tflite import to_tflite

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 8*8 px * 4 out * 3*3*3 = 6912
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 4*4 px * 4 ch * 3*3 = 576
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(2)(x)  # 64 features * 2 units = 128
    model = keras.Model(inputs, outputs)
    calib = np.random.default_rng(0).integers(0, 255, (4, 8, 8, 3)).astype(np.uint8)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(to_tflite(model, "int8", calib))
    assert count_macs(load_interpreter(path, 1)) == 6912 + 576 + 128


@pytest.mark.tf
def test_layers_of_the_shipped_classifier_and_their_rebuilt_models(tmp_path):
    from bench.layers import conv_layers, is_patchify, layer_macs, layer_model, space_to_depth_form

    layers = conv_layers(load_interpreter("models/crack_classifier/model.tflite", 1))
    assert [(la["input"], la["kernel"], la["stride"], la["filters"]) for la in layers] == [
        ([227, 227, 3], [4, 4], 4, 24), ([57, 57, 24], [3, 3], 2, 48), ([29, 29, 48], [3, 3], 2, 96),
        ([15, 15, 96], [3, 3], 2, 128)]
    assert [is_patchify(la) for la in layers] == [True, False, False, False]
    stem = space_to_depth_form(layers[0])  # 227 padded to 228: 57 x 57 blocks of 4 x 4 x 3
    assert stem["input"] == [57, 57, 48] and stem["kernel"] == [1, 1] and stem["block"] == 4
    assert layer_macs(stem) == layer_macs(layers[0]) == 57 * 57 * 24 * 48
    # the rebuilt model of a layer has that layer's shapes and multiply-adds
    interp = load_interpreter(layer_model(layers[1], 2, tmp_path / "conv2.tflite"), 1)
    assert list(interp.get_input_details()[0]["shape"]) == [2, 57, 57, 24]
    assert list(interp.get_output_details()[0]["shape"]) == [2, 29, 29, 48]
    assert count_macs(interp) == 2 * layer_macs(layers[1])


def test_space_to_depth_moves_each_4x4_block_into_channels():
    from bench.layers import space_to_depth

    tiles = np.random.default_rng(0).integers(0, 256, (2, 227, 227, 3), dtype=np.uint8)
    blocks = space_to_depth(tiles, 4)
    padded = np.zeros((2, 228, 228, 3), np.uint8)
    padded[:, :227, :227] = tiles
    expected = padded.reshape(2, 57, 4, 57, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 57, 57, 48)
    assert blocks.shape == (2, 57, 57, 48) and np.array_equal(blocks, expected)


def test_time_call_runs_at_least_three_times_and_orders_stats():
    calls = []
    stats = time_call(lambda: calls.append(1), repeat=5, warmup=1, budget_s=0.0)
    assert stats["runs"] == 3 and len(calls) == 4
    assert 0 <= stats["median_s"] <= stats["p95_s"]


def test_pipeline_bench_config_is_a_valid_edge_config(tmp_path):
    from bench.pipeline import ROOT, bench_config
    from edge.config import load_config

    video = tmp_path / "v.avi"
    cfg = load_config(bench_config(tmp_path, video, 1884, True, 15.0, "models/crack_segmenter"))
    assert cfg.camera.type == "video" and cfg.camera.realtime and cfg.camera.loop and cfg.camera.fps == 15.0
    assert cfg.mqtt.port == 1884 and cfg.models.segmenter == str(ROOT / "models/crack_segmenter")
    assert cfg.outbox.path == str(tmp_path / "outbox.sqlite") and cfg.pose.source == "none"
    assert cfg.models.segment == "follow"  # the config's own choice
    other = load_config(bench_config(tmp_path, video, 1884, False, 30.0, "models/crack_segmenter",
                                     "crack_tiles_and_neighbours"))
    assert other.models.segment == "crack_tiles_and_neighbours" and not other.camera.realtime
    assert cfg.models.segment_zoom == 1 and cfg.models.faint_threshold is None  # not desktop_sim.yaml's 2 and 0.35
    zoomed = load_config(bench_config(tmp_path, video, 1884, False, 30.0, "models/crack_segmenter", zoom=2))
    assert zoomed.models.segment_zoom == 2


def test_frame_against_the_bare_model_is_timed_in_turns():
    from bench.frames import frame_vs_model_alone

    turns = frame_vs_model_alone("models/crack_classifier", rounds=3, per_round=2)
    assert turns["tiles"] == 45 and turns["rounds"] == 3
    for name in ("frame_ms", "alone_same_input_ms", "alone_fed_ms"):
        assert turns[name] > 0
    # each ratio is the median of the rounds' own ratios, so it lies within what the rounds could give
    assert turns["ratio_to_alone_same_input"] > 0 and turns["ratio_to_alone_fed"] > 0
