"""The bench's parts: MACs counted from a real int8 .tflite, the timing helper, the edge config it runs."""
from __future__ import annotations

import numpy as np

from bench.macs import count_macs
from bench.timing import time_call
from edge.interpreter import load_interpreter


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


def test_time_call_runs_at_least_three_times_and_orders_stats():
    calls = []
    stats = time_call(lambda: calls.append(1), repeat=5, warmup=1, budget_s=0.0)
    assert stats["runs"] == 3 and len(calls) == 4
    assert 0 <= stats["median_s"] <= stats["p95_s"]


def test_pipeline_bench_config_is_a_valid_edge_config(tmp_path):
    from bench.pipeline import bench_config
    from edge.config import load_config

    video = tmp_path / "v.avi"
    cfg = load_config(bench_config(tmp_path, video, 1884, True, 15.0, "models/crack_segmenter"))
    assert cfg.camera.type == "video" and cfg.camera.realtime and cfg.camera.loop and cfg.camera.fps == 15.0
    assert cfg.mqtt.port == 1884 and cfg.models.segmenter == "models/crack_segmenter"
    assert cfg.outbox.path == str(tmp_path / "outbox.sqlite") and cfg.pose.source == "none"
