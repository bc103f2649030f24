"""The cascade with stand-in models: which tiles are segmented, how tile masks stitch into the frame."""
import numpy as np
import pytest

from edge.frame.cascade import FrameAnalyzer, crack_levels, cracks_from_mask, elongation, exits, stitch, stitch_box
from edge.frame.measure import FAINT, SURE
from edge.types import Frame, Patch, Pose
from edge.sim.oracle import OracleSegmenter


def test_stitch_averages_overlapping_tiles_and_crops_the_padding():
    patches = [Patch(0, 0, 4), Patch(2, 0, 4)]
    probs = np.stack([np.full((4, 4), 1.0, np.float32), np.full((4, 4), 0.0, np.float32)])
    out = stitch(probs, patches, (3, 5))
    assert out.shape == (3, 5)
    assert out[0].tolist() == [1.0, 1.0, 0.5, 0.5, 0.0]  # the overlap is the mean of both tiles


def test_stitch_box_spans_the_segmented_tiles_only():
    patches = [Patch(40, 10, 4), Patch(42, 10, 4)]
    probs = np.stack([np.full((4, 4), 1.0, np.float32), np.full((4, 4), 0.0, np.float32)])
    box, inside = stitch_box(probs, patches, (13, 45))
    assert box == (40, 10, 45, 13) and inside.shape == (3, 5)  # clipped to the 13 x 45 frame
    assert inside[0].tolist() == [1.0, 1.0, 0.5, 0.5, 0.0]
    assert np.array_equal(stitch(probs, patches, (13, 45))[10:, 40:], inside)
    assert stitch_box(probs[:0], [], (13, 45)) == (None, None)


def test_cracks_from_mask_keeps_frame_coordinates():
    mask = np.zeros((100, 200), bool)
    mask[70, 120:180] = True  # a 60 px line far from the origin
    mask[72, 150] = True  # a speck
    (crack,) = cracks_from_mask(mask, np.array([0.9]), [Patch(100, 50, 100)], 0.5, 0.5, min_area_px=5)
    assert crack.bbox_px == (120, 70, 180, 71) and crack.mask.shape == (1, 60) and crack.tiles == 1
    # the same from the part of the frame that holds the line, given its top-left corner
    (part,) = cracks_from_mask(mask[60:80, 100:200], np.array([0.9]), [Patch(100, 50, 100)], 0.5, 0.5, min_area_px=5,
                               origin=(100, 60))
    assert part.bbox_px == crack.bbox_px and np.array_equal(part.mask, crack.mask)
    assert cracks_from_mask(np.zeros((10, 10), bool), np.array([0.9]), [Patch(0, 0, 10)], 0.5, 0.5, 5) == []


def _frame(h=60, w=90, pose=None):
    return Frame(rgb=np.zeros((h, w, 3), np.uint8), ts=0.0, index=0, pose=pose, mm_per_px=0.5)


class _Truth:
    """A camera that knows its frames' true crack masks, as the simulator's does."""

    def __init__(self, mask):
        self.mask = mask

    def truth_mask(self, index):
        return self.mask


def test_which_tiles_the_segmenter_sees_in_each_mode():
    seen = []

    def classify(tiles):  # a 2 x 3 grid of 30 px tiles; only the middle top tile is a crack
        return np.array([0.1, 0.9, 0.1, 0.1, 0.1, 0.1])

    def segment(frame, tiles, patches):
        seen.append(len(tiles))
        out = np.zeros(tiles.shape[:3], np.float32)
        out[:, 14:16, :] = 1.0  # a horizontal line through every segmented tile
        return out

    # follow: the line leaves the crack tile left and right, and ends at the frame's sides
    for mode, expected in (("crack_tiles", 1), ("crack_tiles_and_neighbours", 6), ("follow", 3), ("all", 6)):
        analyzer = FrameAnalyzer(classify, 30, 30, segment_fn=segment, segment=mode, min_area_px=5)
        before = len(seen)
        result = analyzer.analyze(_frame(), threshold=0.5)
        assert sum(seen[before:]) == expected and result.segmented_tiles == expected
        assert result.mask.shape == (60, 90)
    analyzer = FrameAnalyzer(classify, 30, 30, segment_fn=segment, segment="crack_tiles", min_area_px=5)
    one = analyzer.analyze(_frame(), 0.5)
    (crack,) = one.cracks
    # 30 px at 0.5 mm; a 2 px thick line thins to a skeleton up to a pixel short at each end
    assert crack.bbox_px == (30, 14, 60, 16) and crack.length_mm == pytest.approx(15.0, abs=1.0)
    assert crack.confidence == 0.9 and crack.mask.shape == (2, 30)
    with pytest.raises(ValueError):
        FrameAnalyzer(classify, 30, 30, segment="some")


def test_follow_segments_the_tiles_a_crack_runs_into_and_stops_where_it_ends():
    truth = np.zeros((90, 120), np.uint8)
    truth[40:43, 35:115] = 255  # from the middle tile of row 1 (the crack tile) to the right, ending in the last one
    truth[5:20, 5:8] = 255  # another crack the classifier missed, touching no segmented tile
    seen = []

    def classify(tiles):  # a 3 x 4 grid of 30 px tiles; tile 5 (row 1, col 1) is the crack tile
        probs = np.full(len(tiles), 0.1)
        probs[5] = 0.9
        return probs

    analyzer = FrameAnalyzer(classify, 30, 30, segment_fn=OracleSegmenter(_Truth(truth)), segment="follow",
                             min_area_px=5)
    frame = _frame(90, 120)
    result = analyzer.analyze(frame, 0.5)
    assert result.segmented_tiles == 3  # tiles 5, 6, 7: not the left neighbour (the crack starts inside tile 5)
    (crack,) = result.cracks
    assert crack.bbox_px == (35, 40, 115, 43)

    def segment(frame, tiles, patches):
        seen.append(len(tiles))
        return np.zeros(tiles.shape[:3], np.float32)

    quiet = FrameAnalyzer(classify, 30, 30, segment_fn=segment, segment="follow", min_area_px=5)
    assert quiet.analyze(frame, 0.5).segmented_tiles == 1 and seen == [1]  # nothing to follow


def test_exits_name_the_edges_and_corners_a_mask_reaches():
    mask = np.zeros((30, 30), bool)
    assert exits(mask) == []
    mask[15, 10:] = True  # runs out on the right
    assert exits(mask) == [(0, 1)]
    mask[:] = False
    mask[np.arange(30), np.arange(30)] = True  # corner to corner
    assert sorted(exits(mask)) == [(-1, -1), (-1, 0), (0, -1), (0, 1), (1, 0), (1, 1)]
    mask[:] = False
    mask[15, 24:27] = True  # 3 px from the right edge: inside it, unless tiles overlap by more than that
    assert exits(mask) == [] and exits(mask, overlap=4) == [(0, 1)]


def test_no_crack_tile_no_segmentation_and_tile_level_without_segmenter():
    calls = []
    analyzer = FrameAnalyzer(lambda t: np.zeros(len(t)), 30, 30, segment_fn=lambda f, t, p: calls.append(1))
    assert analyzer.analyze(_frame(), 0.5).cracks == [] and calls == []
    tiles_only = FrameAnalyzer(lambda t: np.array([0.9, 0.9, 0.1, 0.1, 0.1, 0.1]), 30, 30)
    (crack,) = tiles_only.analyze(_frame(), 0.5).cracks
    assert crack.bbox_px == (0, 0, 60, 30) and crack.length_mm is None  # tile groups carry no measurement


def test_oracle_takes_the_true_mask_inside_the_chosen_tiles():
    truth = np.zeros((60, 90), np.uint8)
    truth[10:13, 5:85] = 255  # runs through three tiles
    analyzer = FrameAnalyzer(lambda t: np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1]), 30, 30, segment="crack_tiles",
                             segment_fn=OracleSegmenter(_Truth(truth)), min_area_px=5)
    (crack,) = analyzer.analyze(_frame(pose=Pose(0, 0, 0.5)), 0.5).cracks
    assert crack.bbox_px == (5, 10, 30, 13)  # only the part inside the crack tile
    assert crack.length_mm is None  # with a pose the tracker measures it on the wall


def test_round_blobs_are_not_cracks():
    mask = np.zeros((100, 200), bool)
    yy, xx = np.mgrid[0:100, 0:200]
    mask[(yy - 50) ** 2 + (xx - 40) ** 2 <= 64] = True  # a pore 17 px across
    mask[48:51, 90:190] = True  # a crack 100 px long, 3 px wide
    kept = cracks_from_mask(mask, np.array([0.9]), [Patch(0, 0, 200)], 0.5, 0.5, min_area_px=5, min_elongation=3.0)
    assert [c.bbox_px for c in kept] == [(90, 48, 190, 51)]
    assert elongation(mask[:, 90:]) > 30 and elongation(mask[:, :60]) < 1
    assert len(cracks_from_mask(mask, np.array([0.9]), [Patch(0, 0, 200)], 0.5, 0.5, min_area_px=5)) == 2


def test_the_rim_of_a_small_spot_is_no_crack_but_a_curved_crack_is():
    yy, xx = np.mgrid[0:300, 0:400]
    r = np.hypot(yy - 50, xx - 50)
    mask = (r >= 9) & (r <= 12) & (xx < 58)  # an arc of a spot's rim, 24 px (12 mm) across: elongated as drawn
    mask[40:43, 150:190] = True  # a short straight crack piece, 40 px (20 mm)
    big = np.hypot(yy - 300, xx - 250)
    # a crack curving through a quarter circle, 60 mm across
    mask |= (big >= 119) & (big <= 121) & (yy < 300) & (xx < 250)
    args = (np.array([0.9]), [Patch(0, 0, 400)], 0.5, 0.5)
    assert elongation(mask[36:65, 36:65]) > 3.0  # the elongation test alone keeps the rim
    kept = cracks_from_mask(mask, *args, min_area_px=5, min_elongation=3.0)
    assert sorted(c.bbox_px[0] for c in kept) == [130, 150]  # the quarter circle and the straight piece
    assert len(cracks_from_mask(mask, np.array([0.9]), [Patch(0, 0, 400)], 0.5, None, min_area_px=5,
                                min_elongation=3.0)) == 3  # no scale: no size in mm, the rim stays


def test_faint_pixels_count_only_where_they_join_a_sure_crack():
    probs = np.zeros((20, 60), np.float32)
    probs[10, 5:30] = 0.9  # a crack
    probs[10, 30:45] = 0.4  # its faint tip, joined to it
    probs[3, 40:55] = 0.4  # a faint line on its own
    levels = crack_levels(probs, 0.5, 0.35)
    assert levels.dtype == np.uint8
    assert (levels[10, 5:30] == SURE).all() and (levels[10, 30:45] == FAINT).all()
    assert not levels[3].any() and np.count_nonzero(levels) == 40
    # without a faint threshold below the threshold, or with nothing sure: the plain bool mask
    assert np.array_equal(crack_levels(probs, 0.5, None), probs >= 0.5)
    assert np.array_equal(crack_levels(probs, 0.5, 0.6), probs >= 0.5)
    assert not crack_levels(np.full((5, 5), 0.4, np.float32), 0.5, 0.35).any()


def test_the_frame_mask_keeps_a_cracks_faint_tip_in_one_component():
    def segment(frame, tiles, patches):
        out = np.zeros(tiles.shape[:3], np.float32)
        out[:, 10, 2:20] = 0.9
        out[:, 10, 20:28] = 0.4  # the tip fades below the threshold
        return out

    analyzer = FrameAnalyzer(lambda t: np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1]), 30, 30, segment_fn=segment,
                             segment="crack_tiles", pixel_threshold=0.5, faint_threshold=0.35, min_area_px=5)
    (crack,) = analyzer.analyze(_frame(), 0.5).cracks
    assert crack.bbox_px == (2, 10, 28, 11) and crack.length_mm == pytest.approx(13.0, abs=0.6)
    assert crack.mask.max() == SURE and (crack.mask == FAINT).sum() == 8
    without = FrameAnalyzer(lambda t: np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1]), 30, 30, segment_fn=segment,
                            segment="crack_tiles", pixel_threshold=0.5, min_area_px=5)
    assert without.analyze(_frame(), 0.5).cracks[0].bbox_px == (2, 10, 20, 11)


def test_pieces_join_through_a_chain_and_by_their_nearest_pixels():
    from edge.frame.cascade import join_pieces

    labels = np.zeros((200, 400), np.int32)
    labels[10, 10:100] = 1    # A
    labels[10, 130:200] = 2   # B: 30 px after A's end
    labels[40:120, 230] = 3   # C: 30 px below and right of B's end (42 px away), far from A
    labels[190, 390] = 4      # D: alone
    pieces = [(k, (int(np.nonzero(labels == k)[1].min()), int(np.nonzero(labels == k)[0].min()),
                   int(np.nonzero(labels == k)[1].max()) + 1, int(np.nonzero(labels == k)[0].max()) + 1))
              for k in (1, 2, 3, 4)]
    assert sorted(map(sorted, join_pieces(labels, pieces, 45))) == [[0, 1, 2], [3]]  # A-B-C by the chain
    assert sorted(map(sorted, join_pieces(labels, pieces, 35))) == [[0, 1], [2], [3]]  # C is 42 px from B
    assert sorted(map(sorted, join_pieces(labels, pieces, 0))) == [[0], [1], [2], [3]]
