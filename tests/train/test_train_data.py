"""Data readers on tiny folders generated here: both conventions, bad files, resizing, splits."""
import logging

import cv2
import numpy as np
import pytest

from edge.errors import DataError
from train import data
from train.split import split_by_file


def _write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _patch(value, size=227):
    rng = np.random.default_rng(value)
    return rng.integers(0, 255, (size, size, 3), dtype=np.uint8)


@pytest.fixture
def class_dir(tmp_path):
    root = tmp_path / "walls"
    for i in range(6):
        _write(root / "Positive" / f"p{i:02d}.jpg", _patch(i))
        _write(root / "Negative" / f"n{i:02d}.png", _patch(100 + i))
    _write(root / "Positive" / "small.png", _patch(50, size=224))  # resized to 227
    (root / "Negative" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (root / "Negative" / "notes.txt").write_text("ignored: not an image")
    return root


def test_classification_folder_reads_resizes_and_skips_corrupt(class_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="train.data"):
        ps = data.read_folder(class_dir, size=227)
    assert ps.images.shape == (13, 227, 227, 3) and ps.images.dtype == np.uint8
    assert ps.balance() == {"n": 13, "crack": 7, "no_crack": 6}
    assert ps.info["walls"]["skipped"] == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "broken.jpg" in warnings[0].getMessage()


def test_classification_colours_are_rgb(tmp_path):
    red = np.zeros((227, 227, 3), np.uint8)
    red[..., 0] = 255
    _write(tmp_path / "c" / "Positive" / "red.png", red)
    ps = data.read_folder(tmp_path / "c")
    assert ps.images[0, 0, 0].tolist() == [255, 0, 0]


def _seg_folder(root):
    """One 454x454 image = four 227 tiles: crack in the centre of tile (0,0), a crack only at the
    border of tile (0,1), nothing in the two lower tiles; plus one 224 px image with a centred crack."""
    img = _patch(7, size=454)
    mask = np.zeros((454, 454), np.uint8)
    mask[100:130, 110:114] = 255  # centre of the top-left tile
    mask[5:40, 230:233] = 255  # top-right tile, near its border only
    _write(root / "images" / "big.jpg", img)
    cv2.imwrite(str(root / "masks" / "big.png"), mask)
    small_mask = np.zeros((224, 224), np.uint8)
    small_mask[90:130, 110:113] = 255
    _write(root / "images" / "small.png", _patch(8, size=224))
    cv2.imwrite(str(root / "masks" / "small.png"), small_mask)
    _write(root / "images" / "orphan.png", _patch(9, size=224))  # no mask: skipped


def test_segmentation_folder_labels_patches_from_the_mask(tmp_path, caplog):
    root = tmp_path / "seg"
    (root / "masks").mkdir(parents=True)
    _seg_folder(root)
    with caplog.at_level(logging.INFO, logger="train.data"):
        ps = data.read_folder(root, size=227)
    # big.jpg: crack, (ambiguous, left out), no crack, no crack; small.png: crack (resized 224 -> 227)
    assert len(ps) == 4
    assert sorted(ps.labels.tolist()) == [0, 0, 1, 1]
    assert ps.images.shape[1:] == (227, 227, 3)
    assert ps.info["seg"]["ambiguous"] == 1 and ps.info["seg"]["skipped"] == 1
    # patches of one file share a group, so the split keeps them together
    assert len(set(ps.groups.tolist())) == 2


def test_label_from_mask_rules():
    mask = np.zeros((100, 100), bool)
    assert data.label_from_mask(mask) == 0
    mask[0:50, 0:2] = True  # border only
    assert data.label_from_mask(mask) is None
    mask[40:60, 50] = True  # 20 px in the centre
    assert data.label_from_mask(mask, min_crack_pixels=20) == 1


def test_tile_origins_cover_the_image():
    assert data.tile_origins(227, 227) == [0]
    assert data.tile_origins(544, 227) == [0, 227, 317]
    assert data.tile_origins(454, 227) == [0, 227]


def test_missing_and_unknown_folders_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.read_folder(tmp_path / "nope")
    (tmp_path / "odd" / "pictures").mkdir(parents=True)
    with pytest.raises(DataError, match="Positive/ \\+ Negative/"):
        data.read_folder(tmp_path / "odd")
    (tmp_path / "empty" / "Positive").mkdir(parents=True)
    with pytest.raises(DataError, match="no readable images"):
        data.read_folder(tmp_path / "empty")


def test_several_folders_and_synthetic_at_once(class_dir, tmp_path):
    root = tmp_path / "seg"
    (root / "masks").mkdir(parents=True)
    _seg_folder(root)
    ps = data.load_data([class_dir, root], size=227, synthetic=6, seed=1)
    assert ps.source_names() == ["walls", "seg", "synthetic"]
    assert len(ps) == 13 + 4 + 6
    assert set(np.unique(ps.labels)) == {0, 1}


def test_split_is_seeded_by_file_and_per_source(class_dir):
    ps = data.read_folder(class_dir, split_block=1)
    train_a, val_a = split_by_file(ps, 0.3, seed=3)
    train_b, val_b = split_by_file(ps, 0.3, seed=3)
    assert len(train_a) + len(val_a) == len(ps)
    assert np.array_equal(val_a.groups, val_b.groups)
    assert not set(train_a.groups.tolist()) & set(val_a.groups.tolist())
    assert set(val_a.labels.tolist()) == {0, 1}  # both classes held out
    # the same folder splits the same way when loaded alongside synthetic patches
    both = data.concat([ps, data.synthetic_patches(4, size=227, seed=0)])
    _, val_both = split_by_file(both, 0.3, seed=3)
    assert np.array_equal(val_both.by_source()["walls"].groups, val_a.groups)


def test_split_blocks_keep_neighbouring_files_together(class_dir):
    ps = data.read_folder(class_dir, split_block=3)
    _, val = split_by_file(ps, 0.3, seed=0)
    # every held-out positive block of 3 consecutive names is held out whole
    for g in set(val.groups.tolist()):
        assert np.sum(ps.groups == g) == np.sum(val.groups == g)


def test_look_alikes_paint_thin_cracks_out_in_the_same_group(tmp_path):
    from train.hardneg import max_crack_width, paint_out

    root = tmp_path / "thin"
    grey = np.full((224, 224, 3), 150, np.uint8)
    grey[60:64, :] = 60  # a grout joint: not labelled, stays
    img, mask = grey.copy(), np.zeros((224, 224), np.uint8)
    cv2.line(img, (20, 200), (200, 110), (20, 20, 20), 3)
    cv2.line(mask, (20, 200), (200, 110), 255, 3)
    _write(root / "images" / "a_0_1.png", img)
    (root / "masks").mkdir()
    cv2.imwrite(str(root / "masks" / "a_0_1.png"), mask)
    ps = data.read_folder(root, size=227, look_alikes=True)
    assert ps.labels.tolist() == [1, 0] and ps.groups[0] == ps.groups[1]
    assert ps.info["thin"]["look_alikes"] == 1
    painted = ps.images[1].astype(int)
    assert painted[120:160, 80:120].min() > 100  # the crack is gone ...
    assert painted[61:65, :, 0].mean() < 90  # ... the joint is not
    assert data.read_folder(root, size=227).labels.tolist() == [1]  # off by default
    wide = np.zeros((100, 100), bool)
    wide[:, 30:60] = True
    assert max_crack_width(wide) > 20 and paint_out(np.zeros((100, 100, 3), np.uint8), wide) is None
