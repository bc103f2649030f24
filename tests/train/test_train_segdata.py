"""Segmentation data: folder reading, split by source photo, crops, augmentation, DeepCrack protocol."""
import cv2
import numpy as np
import pytest

from edge.errors import DataError
from edge.sim import save_segmentation_folder
from train.augment import AugmentOptions, augment_pair, deepcrack_protocol, motion_blur_kernel, photometric, random_crop
from train.segdata import load_seg_data, photo_id, predict_tiled, read_seg_folder, split_seg_by_photo


@pytest.fixture(scope="module")
def seg_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segset")
    save_segmentation_folder(folder, 8, size=64, seed=3)
    return folder


def test_photo_id_groups_crops_of_one_photo():
    assert photo_id("a_0_10") == "a_0" and photo_id("a_0_11") == "a_0"
    assert photo_id("11111") == "11111" and photo_id("IMG_0001") == "IMG"
    assert photo_id("7Q3A9064-12") == "7Q3A9064" and photo_id("11116-1") == photo_id("11116") == "11116"


def test_corrupt_and_unpaired_files_are_skipped_and_counted(seg_folder, tmp_path):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(seg_folder, folder)
    first = sorted((folder / "images").iterdir())[0]
    cv2.imwrite(str(folder / "images" / "lonely.png"), cv2.imread(str(first)))  # no mask
    (folder / "images" / "corrupt.png").write_bytes(b"not a png")
    (folder / "masks" / "corrupt.png").write_bytes(b"not a png")
    data = read_seg_folder(folder)
    assert len(data) == 8
    info = data.info["broken"]
    assert info["skipped"] == 2 and info["files"] == 10
    assert all(m.dtype == bool for m in data.masks)


def test_classification_folder_is_refused_for_segmentation(tmp_path):
    (tmp_path / "Positive").mkdir()
    (tmp_path / "Negative").mkdir()
    with pytest.raises(DataError, match="images/ \\+ masks/"):
        read_seg_folder(tmp_path)


def test_split_never_puts_one_photo_on_both_sides(tmp_path):
    folder = tmp_path / "masonry"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    for photo in range(6):
        for crop in range(3):
            name = f"p_{photo}_{crop}.png"
            cv2.imwrite(str(folder / "images" / name), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
            cv2.imwrite(str(folder / "masks" / name), np.zeros((32, 32), np.uint8))
    data = load_seg_data([folder], synthetic=5, seed=1)
    train, val = split_seg_by_photo(data, 0.34, seed=0)
    assert len(train) + len(val) == len(data) == 23
    assert not set(train.groups.tolist()) & set(val.groups.tolist())
    assert set(val.sources.tolist()) == {"masonry", "synthetic"}  # each source contributes
    again = split_seg_by_photo(load_seg_data([folder], synthetic=0), 0.34, seed=0)[1]
    assert sorted(again.names) == sorted(n for n, s in zip(val.names, val.sources) if s == "masonry")


def test_random_crop_keeps_the_crack_and_its_scale():
    image = np.zeros((300, 400, 3), np.uint8)
    mask = np.zeros((300, 400), bool)
    mask[:, 200:204] = True  # a 4 px vertical crack
    rng = np.random.default_rng(0)
    for _ in range(5):
        img, msk = random_crop(image, mask, 64, rng, AugmentOptions(scale=0.0, crack_crops=1.0))
        assert img.shape == (64, 64, 3) and msk.shape == (64, 64)
        widths = msk.sum(axis=1)
        assert np.all(widths == 4)  # scale 1: the width is kept exactly


def test_augment_pair_moves_mask_with_image():
    rng = np.random.default_rng(2)
    image = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[10:20, 5:50] = True
    image[mask] = 255
    opts = AugmentOptions(scale=0.0, brightness=0, contrast=0, colour=0, blur=0, noise=0, crack_crops=0.0)
    for _ in range(6):
        img, msk = augment_pair(image, mask, 64, rng, opts)
        assert np.array_equal(img[..., 0] > 127, msk)


def test_photometric_blur_and_noise_change_pixels_only_within_range():
    rng = np.random.default_rng(0)
    image = np.full((32, 32, 3), 128, np.uint8)
    image[:, 16] = 0
    out = photometric(image, rng, AugmentOptions(blur=1.0, noise=8.0, brightness=0, contrast=0, colour=0))
    assert out.dtype == np.uint8 and out.shape == image.shape and not np.array_equal(out, image)
    k = motion_blur_kernel(5, 0.0)
    assert k.sum() == pytest.approx(1.0) and np.count_nonzero(k) == 5 and np.count_nonzero(k[2]) == 5


def test_deepcrack_protocol_makes_100_pairs():
    image = np.zeros((40, 60, 3), np.uint8)
    mask = np.zeros((40, 60), bool)
    mask[20, :] = True
    pairs = list(deepcrack_protocol(image, mask))
    assert len(pairs) == 10 * 2 * 5
    assert all(p[0].shape == (32, 48, 3) and p[1].shape == (32, 48) for p in pairs)


def test_predict_tiled_covers_every_pixel_once_averaged():
    image = np.zeros((50, 70, 3), np.uint8)
    image[:, :, 0] = np.arange(70)[None, :]
    calls = []

    def predict(tiles):
        calls.append(len(tiles))
        return tiles[..., 0].astype(np.float32)  # echo the red channel

    prob = predict_tiled(predict, image, 32)
    assert prob.shape == (50, 70)
    assert np.allclose(prob, image[..., 0])  # overlaps average to the same value
    small = predict_tiled(predict, image[:20, :20], 32)  # smaller than a tile: resized up and back
    assert small.shape == (20, 20)


@pytest.mark.slow
def test_wall_tiles_show_cracks_of_whole_walls_one_group_per_wall():
    from train.segdata import WALL_SEED_BASE, synthetic_wall_seg

    data = synthetic_wall_seg(2, size=96, seed=0)
    assert len(data) == 2 * (4 * 4 + 4)  # four tiles near each of four cracks, four anywhere
    assert all(img.shape == (96, 96, 3) and m.shape == (96, 96) and m.dtype == bool
               for img, m in zip(data.images, data.masks))
    assert sum(m.any() for m in data.masks) >= 2 * 4 * 4 - 2  # tiles centred near a crack show it
    assert sorted(set(data.groups)) == [f"wall{WALL_SEED_BASE}", f"wall{WALL_SEED_BASE + 1}"]
    again = synthetic_wall_seg(2, size=96, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(data.images, again.images))
    train, val = split_seg_by_photo(data, 0.5, seed=0)
    assert len(train) == len(val) == 20 and not set(train.groups) & set(val.groups)
    both = load_seg_data(synthetic=8, synthetic_walls=1, seed=0)
    assert both.source_names() == ["synthetic", "synthetic_walls"]


def test_source_weight_draws_a_source_that_many_times_as_often():
    from edge.errors import ConfigError
    from train.segdata import SegSet
    from train.segfit import sample_batches, source_odds

    images = [np.full((32, 32, 3), 10, np.uint8)] * 4 + [np.full((32, 32, 3), 200, np.uint8)]
    data = SegSet(images, [np.zeros((32, 32), bool)] * 5, np.array(["a"] * 4 + ["b"], object),
                  np.array(list("pqrst"), object))
    assert source_odds(data).tolist() == [0.5, 0.5]  # equal by default, however many photos each has
    assert source_odds(data, ["b=3"]).tolist() == [0.25, 0.75]
    with pytest.raises(ConfigError, match="no data source named 'c'"):
        source_odds(data, ["c=2"])
    opts = AugmentOptions(flips=False, brightness=0, contrast=0, colour=0, blur=0, noise=0)
    xs, _ = next(sample_batches(data, 32, 400, opts, seed=0, source_weight=["b=3"]))
    from_b = float((xs.mean(axis=(1, 2, 3)) > 100).mean())
    assert 0.68 < from_b < 0.82
