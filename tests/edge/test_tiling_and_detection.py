import numpy as np

from edge.sim.camera import lawnmower_path
from edge.frame.tile_groups import group_crack_tiles
from edge.wall.localize import place_on_wall, px_to_wall
from edge.frame.severity import classify_width
from edge.frame.tiler import tile_frame
from edge.types import Crack, Pose


def test_tiles_cover_the_frame_with_mirrored_padding():
    rgb = np.arange(300 * 500 * 3, dtype=np.uint32).reshape(300, 500, 3).astype(np.uint8)
    tiles, patches, grid = tile_frame(rgb, 227, 227)
    assert grid == (2, 3) and tiles.shape == (6, 227, 227, 3)
    assert (patches[4].x, patches[4].y) == (227, 227)
    np.testing.assert_array_equal(tiles[4][:73, :227], rgb[227:300, 227:454])
    # first padded row mirrors the row above the border (reflect-101)
    np.testing.assert_array_equal(tiles[4][73], rgb[298, 227:454])


def test_tiles_equal_those_of_the_whole_frame_mirrored():
    import cv2

    rng = np.random.default_rng(4)
    for h, w, size, stride in [(300, 500, 227, 227), (1080, 1920, 227, 227), (240, 250, 227, 100), (20, 9, 16, 5),
                               (230, 460, 227, 227), (5, 300, 16, 16), (64, 64, 16, 16)]:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        tiles, patches, (rows, cols) = tile_frame(rgb, size, stride)
        need_h, need_w = (rows - 1) * stride + size, (cols - 1) * stride + size
        whole = cv2.copyMakeBorder(rgb, 0, need_h - h, 0, need_w - w, cv2.BORDER_REFLECT_101)
        expected = np.stack([whole[p.y : p.y + size, p.x : p.x + size] for p in patches])
        np.testing.assert_array_equal(tiles, expected, err_msg=f"{h} x {w}, tile {size} stride {stride}")


def test_overlapping_stride():
    rgb = np.zeros((227, 453, 3), np.uint8)
    _, patches, grid = tile_frame(rgb, 227, 113)
    assert grid == (1, 3) and [p.x for p in patches] == [0, 113, 226]


def test_each_tile_is_the_frame_under_its_patch():
    rgb = np.random.default_rng(1).integers(0, 256, (454, 700, 3), dtype=np.uint8)
    for stride in (227, 150):  # side by side, and overlapping
        tiles, patches, _ = tile_frame(rgb, 227, stride)
        for tile, p in zip(tiles, patches):
            inside = rgb[p.y : p.y + 227, p.x : p.x + 227]
            np.testing.assert_array_equal(tile[: inside.shape[0], : inside.shape[1]], inside)


def test_neighbouring_crack_tiles_are_one_crack():
    _, patches, grid = tile_frame(np.zeros((681, 908, 3), np.uint8), 227, 227)  # 3 x 4 grid
    probs = np.zeros(12)
    probs[[0, 5]] = 0.9  # diagonal neighbours -> one crack
    probs[[3]] = 0.7  # far corner -> another
    cracks = group_crack_tiles(probs, patches, grid, 0.5, (681, 908))
    boxes = sorted(c.bbox_px for c in cracks)
    assert boxes == [(0, 0, 454, 454), (681, 0, 908, 227)]
    assert sorted(c.tiles for c in cracks) == [1, 2]
    assert group_crack_tiles(np.zeros(12), patches, grid, 0.5, (681, 908)) == []


def test_pixels_to_wall_mm():
    pose = Pose(x_mm=1000.0, y_mm=500.0, mm_per_px=0.5)
    assert px_to_wall(640, 480, pose, (960, 1280)) == (1000.0, 500.0)
    assert px_to_wall(0, 0, pose, (960, 1280)) == (680.0, 260.0)
    placed = place_on_wall(Crack(bbox_px=(0, 0, 1280, 960), confidence=1.0, tiles=1), pose, (960, 1280))
    assert placed.bbox_mm == (680.0, 260.0, 1320.0, 740.0)
    assert place_on_wall(placed, None, (960, 1280)).bbox_mm == placed.bbox_mm


def test_lawnmower_covers_wall_and_alternates():
    path = lawnmower_path(3000, 1000, 1000, 600, 0.25)
    xs = sorted({x for x, _ in path})
    ys = sorted({y for _, y in path})
    assert xs[0] == 0 and xs[-1] == 2000 and ys == [0, 400]
    first_row = [x for x, y in path if y == 0]
    second_row = [x for x, y in path if y == 400]
    assert first_row == sorted(first_row) and second_row == sorted(second_row, reverse=True)
    assert all(b - a <= 750 for a, b in zip(xs, xs[1:]))  # 25 % overlap at least


def test_bre_digest_251_boundaries():
    cats = {w: classify_width(w)["category"] for w in (0.05, 0.1, 1.0, 1.01, 5.0, 15.0, 25.0, 30.0)}
    assert cats == {0.05: 0, 0.1: 1, 1.0: 1, 1.01: 2, 5.0: 2, 15.0: 3, 25.0: 4, 30.0: 5}
    assert classify_width(None) == {"scale": "BRE-Digest-251", "category": None, "label": None}


def test_tile_grid_rows_and_picks_are_its_tiles():
    from edge.frame.tiler import TileGrid

    rgb = np.random.default_rng(6).integers(0, 256, (100, 120, 3), dtype=np.uint8)
    grid = TileGrid(rgb, 32, 30)  # 4 x 4 tiles, overlapping, the last row and column mirrored
    tiles = np.asarray(grid)
    assert tiles.shape == grid.shape == (16, 32, 32, 3) and len(grid) == 16
    rows = grid.rows_of_tiles()
    assert len(rows) == 4
    np.testing.assert_array_equal(np.concatenate([np.concatenate(row) for row in rows]), tiles)
    np.testing.assert_array_equal(grid[[15, 0, 6]], tiles[[15, 0, 6]])
    np.testing.assert_array_equal(grid[3], tiles[3])
    np.testing.assert_array_equal(grid[2:5], tiles[2:5])
