"""The lookup-table path of to_model_input gives exactly what the per-pixel arithmetic gives."""
import numpy as np
import pytest

from edge.models.bundle import ModelInfo, Normalization, TensorInfo, TileInfo
from edge.models.preprocess import PixelFeed, normalize, quantize, to_model_input


def _info(color_order, mean, std, dtype, scale, zero_point):
    return ModelInfo(name="m", task="classification", sha256="0" * 64, color_order=color_order,
                     input=TensorInfo(shape=[1, 8, 8, 3], dtype=dtype, scale=scale, zero_point=zero_point),
                     output=TensorInfo(shape=[1, 1], dtype="float32"),
                     normalization=Normalization(mean=mean, std=std), labels=["no crack", "crack"],
                     tile=TileInfo(size=8, stride=8))


@pytest.mark.parametrize("color_order, mean, std, dtype, scale, zero_point", [
    ("RGB", [0, 0, 0], [1, 1, 1], "int8", 1.0, -128),  # the shipped models: pixel - 128
    ("BGR", [103.9, 116.8, 123.7], [1, 1, 1], "int8", 0.9, 5),  # caffe-style, channels swapped
    ("RGB", [127.5] * 3, [127.5] * 3, "float32", 0.0, 0),
    ("BGR", [0.5, 1, 2], [50, 60, 70], "uint8", 0.01, 128),  # a different value per channel
])
def test_table_path_equals_the_arithmetic(color_order, mean, std, dtype, scale, zero_point):
    info = _info(color_order, mean, std, dtype, scale, zero_point)
    pixels = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    pixels[0, 0, :8] = np.arange(0, 256, 32)[:, None]  # both ends of the range
    pixels[0, 1, :8] = np.arange(255, 0, -32)[:, None]
    expected = quantize(normalize(pixels, info), info.input)
    for x in (pixels, pixels[1], pixels[:, ::2, 1::2]):  # a batch, one tile, a strided view
        got = to_model_input(x, info)
        assert got.dtype == expected.dtype and got.shape == x.shape
        assert np.array_equal(got, quantize(normalize(x, info), info.input))
    assert np.array_equal(to_model_input(pixels, info), expected)


def test_the_shipped_models_input_is_a_top_bit_flip():
    feed = PixelFeed(_info("RGB", [0, 0, 0], [1, 1, 1], "int8", 1.0, -128))
    assert feed.flip  # pixel - 128 as int8: the cheapest conversion
    assert not PixelFeed(_info("BGR", [0, 0, 0], [1, 1, 1], "int8", 1.0, -128)).flip  # channels swap: the table
    assert not PixelFeed(_info("RGB", [0, 0, 0], [1, 1, 1], "int8", 1.0, -127)).flip
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    assert np.array_equal(feed(pixels), pixels.astype(np.int16) - 128)


def test_into_writes_the_same_input_into_a_given_buffer():
    pixels = np.random.default_rng(3).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    for info in (_info("RGB", [0, 0, 0], [1, 1, 1], "int8", 1.0, -128),  # the flip
                 _info("BGR", [120, 110, 100], [60, 60, 60], "int8", 0.02, 3)):  # the table
        feed = PixelFeed(info)
        out = np.full((5, 8, 8, 3), 7, np.int8)  # one row more than the pixels: left as it was
        feed.into(pixels, out[:4])
        assert np.array_equal(out[:4], feed(pixels)) and (out[4] == 7).all()
