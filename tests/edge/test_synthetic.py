"""Tests for the synthetic crack generator (edge/sim/)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import edge.sim as syn
from edge.sim.cli import main as sim_main


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _contrast(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Mean grey level of a ring around the crack minus the mean grey level on the crack."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    ring = (cv2.dilate(mask, _disk(8)) > 0) & ~(cv2.dilate(mask, _disk(3)) > 0)
    return float(grey[ring].mean() - grey[mask > 0].mean())


@pytest.fixture(scope="module")
def patches():
    return syn.make_patches(24, size=227, seed=7)


@pytest.fixture(scope="module")
def wall():
    return syn.render_wall(width_px=2600, height_px=1500, n_cracks=4, kind="concrete", seed=3,
                           mm_per_px=0.5, width_range_px=(1.0, 6.0))


# --- textures and patches -----------------------------------------------------------------


@pytest.mark.parametrize("kind", syn.KINDS)
def test_render_texture_shape_and_determinism(kind):
    a = syn.render_texture(50, 70, kind, np.random.default_rng(1))
    b = syn.render_texture(50, 70, kind, np.random.default_rng(1))
    c = syn.render_texture(50, 70, kind, np.random.default_rng(2))
    assert a.shape == (50, 70, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    assert 40 < a.mean() < 220  # a plausible surface, not black or blown out


@pytest.mark.parametrize("cell", [0.8, 3.0, 7.5, 40.0])  # white, linear, cubic, coarse (quarter grid)
def test_noise_made_a_band_of_rows_at_a_time_is_the_same_field(cell):
    from edge.sim.textures import NoiseRows, noise

    whole = noise(301, 157, cell, np.random.default_rng(4))
    rows = NoiseRows(301, 157, cell, np.random.default_rng(4))
    bands = np.concatenate([rows.rows(top, top + 64) for top in range(0, 301, 64)])
    assert bands.shape == whole.shape and np.array_equal(bands, whole)


def test_smoothstep_in_bands_is_the_curve():
    from edge.sim.textures import smoothstep

    x = np.linspace(-1, 3, 700 * 3, dtype=np.float32).reshape(700, 3)
    t = np.clip((x - 0.5) / 1.5, 0, 1)
    np.testing.assert_allclose(smoothstep(x, 0.5, 2.0), 3 * t * t - 2 * t ** 3, atol=1e-6)
    assert x[0, 0] == -1  # not overwritten unless asked


def test_render_texture_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        syn.render_texture(32, 32, "marble", np.random.default_rng(0))


@pytest.mark.parametrize("kind", syn.KINDS)
@pytest.mark.parametrize("crack", [True, False])
def test_make_patch_deterministic(kind, crack):
    rgb1, m1 = syn.make_patch(96, crack=crack, kind=kind, seed=5)
    rgb2, m2 = syn.make_patch(96, crack=crack, kind=kind, seed=5)
    rgb3, _ = syn.make_patch(96, crack=crack, kind=kind, seed=6)
    assert rgb1.tobytes() == rgb2.tobytes() and m1.tobytes() == m2.tobytes()
    assert rgb1.tobytes() != rgb3.tobytes()


def test_make_patches_deterministic():
    a = syn.make_patches(4, size=64, seed=3)
    b = syn.make_patches(4, size=64, seed=3)
    c = syn.make_patches(4, size=64, seed=4)
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_make_patches_shapes_and_labels(patches):
    images, masks, labels = patches
    assert images.shape == (24, 227, 227, 3) and images.dtype == np.uint8
    assert masks.shape == (24, 227, 227) and masks.dtype == np.uint8
    assert labels.shape == (24,) and labels.dtype == np.int64
    assert int(labels.sum()) == 12
    assert set(np.unique(masks)) <= {0, 255}


def test_masks_agree_with_labels(patches):
    images, masks, labels = patches
    for mask, label in zip(masks, labels):
        if label == 0:
            assert not mask.any()
            continue
        ys, xs = np.nonzero(mask)
        assert len(xs) >= 30
        # The crack crosses a good part of the patch.
        assert max(np.ptp(xs), np.ptp(ys)) + 1 >= 0.4 * 227


def test_cracks_are_visible(patches):
    images, masks, labels = patches
    for rgb, mask, label in zip(images, masks, labels):
        if label:
            assert _contrast(rgb, mask) > 10.0


def test_crack_fraction_and_kinds():
    _, masks, labels = syn.make_patches(10, size=48, seed=1, crack_fraction=0.3, kinds=("masonry",))
    assert int(labels.sum()) == 3
    assert [bool(m.any()) for m in masks] == [bool(v) for v in labels]
    with pytest.raises(ValueError, match="crack_fraction"):
        syn.make_patches(2, size=48, crack_fraction=1.5)
    with pytest.raises(ValueError, match="kind"):
        syn.make_patches(2, size=48, kinds=("wood",))


# --- draw_crack ---------------------------------------------------------------------------


def _blank(h=160, w=200, value=170):
    return np.full((h, w, 3), value, np.uint8), np.zeros((h, w), np.uint8)


def test_draw_crack_geometry_and_mask():
    rgb, mask = _blank()
    lines = syn.draw_crack(rgb, mask, np.random.default_rng(0), start=(10, 80), direction_deg=0,
                           length_px=170, width_px=3.0, branches=2)
    assert len(lines) == 3
    for pl in lines:
        assert isinstance(pl, syn.CrackPolyline)
        assert pl.points.ndim == 2 and pl.points.shape[1] == 2 and pl.points.dtype == np.float64
        assert pl.widths.shape == (len(pl.points),)
        assert pl.widths.min() >= 0.5 - 1e-9 and pl.widths.max() <= 3.0 + 1e-9
    trunk = lines[0]
    assert np.allclose(trunk.points[0], (10, 80))
    assert np.sum(np.hypot(*np.diff(trunk.points, axis=0).T)) == pytest.approx(170, rel=1e-6)
    # The centreline is in the mask, and masked pixels are darker than the untouched surface.
    inside = trunk.points[(trunk.points[:, 0] >= 0) & (trunk.points[:, 0] < 199)
                          & (trunk.points[:, 1] >= 0) & (trunk.points[:, 1] < 159)]
    xi, yi = np.round(inside).astype(int).T
    assert mask[yi, xi].all()
    assert rgb[mask > 0].mean() < 130
    assert (rgb[cv2.dilate(mask, _disk(12)) == 0] == 170).all()  # nothing drawn far from the crack


def test_hairline_crack_marks_centreline_with_reduced_contrast():
    rgb_thin, mask_thin = _blank()
    rgb_wide, mask_wide = _blank()
    syn.draw_crack(rgb_thin, mask_thin, np.random.default_rng(4), start=(5, 80), direction_deg=0,
                   length_px=190, width_px=0.6, branches=0)
    syn.draw_crack(rgb_wide, mask_wide, np.random.default_rng(4), start=(5, 80), direction_deg=0,
                   length_px=190, width_px=5.0, branches=0)
    assert mask_thin.sum() // 255 >= 150  # a connected 1-px line, about as long as the crack
    assert mask_thin.sum() < mask_wide.sum() / 2
    # The hairline is visible but fainter than a wide crack.
    assert 5 < _contrast(rgb_thin, mask_thin) < _contrast(rgb_wide, mask_wide)
    n, _ = cv2.connectedComponents(mask_thin, connectivity=8)
    assert n == 2  # background + one crack


def test_draw_crack_default_widths_mostly_1_to_5():
    maxima = []
    for seed in range(60):
        rgb, mask = _blank(48, 48)
        lines = syn.draw_crack(rgb, mask, np.random.default_rng(seed), length_px=30)
        ws = np.concatenate([p.widths for p in lines])
        assert ws.min() >= 0.5 - 1e-9 and ws.max() <= 8.0 + 1e-9
        maxima.append(lines[0].widths.max())
    maxima = np.array(maxima)
    assert np.mean((maxima >= 1.0) & (maxima <= 5.0)) > 0.55
    assert maxima.min() < 1.0 or maxima.max() > 5.0  # the tails are there too


def test_draw_crack_bad_arguments():
    rgb, mask = _blank(32, 32)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rgb"):
        syn.draw_crack(rgb[..., 0], mask, rng)
    with pytest.raises(ValueError, match="mask"):
        syn.draw_crack(rgb, mask[:10], rng)
    with pytest.raises(ValueError, match="width_px"):
        syn.draw_crack(rgb, mask, rng, width_px=0)
    with pytest.raises(ValueError, match="length_px"):
        syn.draw_crack(rgb, mask, rng, length_px=-3)
    with pytest.raises(ValueError, match="branches"):
        syn.draw_crack(rgb, mask, rng, branches=-1)


# --- walls --------------------------------------------------------------------------------


def test_wall_basics(wall):
    assert wall.rgb.shape == (1500, 2600, 3) and wall.rgb.dtype == np.uint8
    assert wall.mask.shape == (1500, 2600) and wall.mask.dtype == np.uint8
    assert wall.kind == "concrete" and wall.mm_per_px == 0.5
    assert len(wall.cracks) == 4
    assert [c.crack_id for c in wall.cracks] == [1, 2, 3, 4]


def test_wall_cracks_separated_and_inside(wall):
    boxes = [c.bbox_px for c in wall.cracks]
    for x0, y0, x1, y1 in boxes:
        assert all(isinstance(v, int) for v in (x0, y0, x1, y1))
        assert 100 <= x0 < x1 <= 2600 - 100 and 100 <= y0 < y1 <= 1500 - 100
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            gap_x = max(b[0] - a[2], a[0] - b[2])
            gap_y = max(b[1] - a[3], a[1] - b[3])
            assert max(gap_x, gap_y) >= 300


def test_wall_crack_lengths_widths_and_masks(wall):
    covered = np.zeros_like(wall.mask)
    for c in wall.cracks:
        assert 300 <= c.length_px <= 1500
        total = sum(float(np.sum(np.hypot(*np.diff(p.points, axis=0).T))) for p in c.polylines)
        assert c.length_px == pytest.approx(total)
        ws = np.concatenate([p.widths for p in c.polylines])
        assert ws.min() >= 1.0 - 1e-9 and ws.max() <= 6.0 + 1e-9
        assert c.max_width_px == pytest.approx(ws.max())
        x0, y0, x1, y1 = c.bbox_px
        sub = wall.mask[y0:y1, x0:x1]
        assert sub.any()
        # bbox is tight: every edge row/column of the box holds a crack pixel.
        assert sub[0].any() and sub[-1].any() and sub[:, 0].any() and sub[:, -1].any()
        assert _contrast(wall.rgb[y0 - 20:y1 + 20, x0 - 20:x1 + 20], wall.mask[y0 - 20:y1 + 20, x0 - 20:x1 + 20]) > 10
        covered[y0:y1, x0:x1] = 255
    assert not (wall.mask > 0)[covered == 0].any()  # no crack pixel outside the listed cracks


def test_wall_deterministic_and_seeded():
    a = syn.render_wall(900, 700, n_cracks=1, seed=2)
    b = syn.render_wall(900, 700, n_cracks=1, seed=2)
    c = syn.render_wall(900, 700, n_cracks=1, seed=3)
    assert a.rgb.tobytes() == b.rgb.tobytes() and a.mask.tobytes() == b.mask.tobytes()
    assert a.cracks[0].bbox_px == b.cracks[0].bbox_px
    assert a.rgb.tobytes() != c.rgb.tobytes()


def test_wall_masonry_and_bad_arguments():
    w = syn.render_wall(900, 700, n_cracks=1, kind="masonry", seed=1, width_range_px=(0.5, 1.0))
    assert w.kind == "masonry" and len(w.cracks) == 1
    assert np.concatenate([p.widths for p in w.cracks[0].polylines]).max() <= 1.0 + 1e-9
    with pytest.raises(ValueError, match="cannot place"):
        syn.render_wall(700, 700, n_cracks=6, seed=0)
    with pytest.raises(ValueError, match="width_range_px"):
        syn.render_wall(900, 700, n_cracks=1, width_range_px=(3.0, 1.0))
    with pytest.raises(ValueError, match="mm_per_px"):
        syn.render_wall(900, 700, n_cracks=1, mm_per_px=0)
    with pytest.raises(ValueError, match="kind"):
        syn.render_wall(900, 700, n_cracks=1, kind="glass")


def test_save_wall(tmp_path, wall):
    syn.save_wall(wall, tmp_path / "w")
    img = cv2.imread(str(tmp_path / "w" / "wall.png"), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(tmp_path / "w" / "wall_mask.png"), cv2.IMREAD_UNCHANGED)
    assert img.shape == wall.rgb.shape and np.array_equal(img[..., ::-1], wall.rgb)
    assert mask.ndim == 2 and np.array_equal(mask, wall.mask)
    doc = json.loads((tmp_path / "w" / "cracks.json").read_text())
    assert doc["mm_per_px"] == 0.5 and doc["width_px"] == 2600 and doc["height_px"] == 1500
    assert [c["crack_id"] for c in doc["cracks"]] == [1, 2, 3, 4]
    for c, crack in zip(doc["cracks"], wall.cracks):
        assert c["bbox_px"] == list(crack.bbox_px)
        assert c["bbox_mm"] == pytest.approx([v * 0.5 for v in crack.bbox_px])
        assert c["length_mm"] == pytest.approx(crack.length_px * 0.5, abs=1e-2)
        assert len(c["polylines"]) == len(crack.polylines)
        pl = c["polylines"][0]
        assert len(pl["points_px"]) == len(pl["points_mm"]) == len(pl["widths_px"]) == len(pl["widths_mm"])
        assert pl["points_mm"][0] == pytest.approx([v * 0.5 for v in pl["points_px"][0]], abs=0.02)


# --- folders and CLI ----------------------------------------------------------------------


def test_save_classification_folder(tmp_path):
    counts = syn.save_classification_folder(tmp_path, 6, size=64, seed=1)
    assert counts == {"Positive": 3, "Negative": 3}
    for cls, n in counts.items():
        files = sorted((tmp_path / cls).glob("*.png"))
        assert len(files) == n
        img = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (64, 64, 3)


def test_save_segmentation_folder(tmp_path):
    n = syn.save_segmentation_folder(tmp_path, 5, size=64, seed=2, kinds=("concrete",))
    assert n == 5
    images = sorted(p.name for p in (tmp_path / "images").glob("*.png"))
    masks = sorted(p.name for p in (tmp_path / "masks").glob("*.png"))
    assert images == masks and len(images) == 5
    nonempty = 0
    for name in masks:
        m = cv2.imread(str(tmp_path / "masks" / name), cv2.IMREAD_UNCHANGED)
        assert m.ndim == 2 and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255}
        nonempty += bool(m.any())
    assert nonempty >= 3


def test_cli_patches_segmentation_wall(tmp_path, capsys):
    assert sim_main(["patches", "--out", str(tmp_path / "p"), "--n", "4", "--size", "48", "--seed", "1"]) == 0
    assert len(list((tmp_path / "p" / "Positive").glob("*.png"))) == 2
    assert sim_main(["segmentation", "--out", str(tmp_path / "s"), "--n", "3", "--size", "48",
                     "--kind", "masonry"]) == 0
    assert len(list((tmp_path / "s" / "masks").glob("*.png"))) == 3
    assert sim_main(["wall", "--out", str(tmp_path / "w"), "--width-px", "900", "--height-px", "700",
                     "--cracks", "1", "--mm-per-px", "0.4", "--kind", "masonry"]) == 0
    doc = json.loads((tmp_path / "w" / "cracks.json").read_text())
    assert doc["mm_per_px"] == 0.4 and doc["kind"] == "masonry" and len(doc["cracks"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and all(line.startswith("wrote") for line in out)


def test_cli_help_and_errors(tmp_path, capsys):
    assert sim_main(["--help"]) == 0
    assert "patches" in capsys.readouterr().out
    assert sim_main(["wall", "--out", str(tmp_path), "--width-px", "700", "--height-px", "700",
                     "--cracks", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot place" in err[0]
    assert sim_main(["patches", "--out", str(tmp_path), "--size", "4"]) == 2
    assert sim_main(["bogus"]) == 2


def test_module_runs_and_never_imports_tensorflow(tmp_path):
    root = Path(syn.__file__).resolve().parents[2]
    code = (
        "import sys, edge.sim as s; "
        "assert 'tensorflow' not in sys.modules; "
        "from edge.sim.cli import main; raise SystemExit(main(['patches', '--out', sys.argv[1], '--n', '2', "
        "'--size', '32']))"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=root, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "edge.sim", "--help"], cwd=root, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "usage" in r.stdout


def test_a_concrete_wall_renders_in_a_bounded_memory():
    # float32 fields are 4 bytes a pixel; the render keeps about three alive at once (it kept eight before,
    # 32 bytes a pixel: a 6000 x 3000 wall peaked at 577 MB, now 237 MB, python tracemalloc)
    import tracemalloc

    tracemalloc.start()
    try:
        syn.render_wall(3000, 2000, 3, "concrete", seed=7, mm_per_px=0.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (3000 * 2000) < 16
