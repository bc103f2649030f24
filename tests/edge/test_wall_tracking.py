"""A crack seen in pieces by overlapping frames is stitched on the wall, measured whole, and keeps one id;
k-of-n voting keeps one-frame flicker out; an `update` only when a measurement changes meaningfully."""
import numpy as np
import pytest

from edge.frame.cascade import cracks_from_mask
from edge.wall.localize import place_on_wall
from edge.wall.tracker import Tracker
from edge.types import Pose
from edge.wall.mask import WallMask

MM = 0.5
FRAME_HW = (300, 400)


def _wall_with_line():
    wall = np.zeros((600, 1200), np.uint8)
    wall[300:306, 100:1100] = 255  # 1000 px = 500 mm long, 6 px = 3 mm wide
    return wall


def _view(wall, x, y):
    """Frame at wall px (x, y): its mask, pose (frame centre) and the measured cracks placed on the wall."""
    h, w = FRAME_HW
    mask = wall[y:y + h, x:x + w] > 0
    pose = Pose(x_mm=(x + w / 2) * MM, y_mm=(y + h / 2) * MM, mm_per_px=MM)
    cracks = cracks_from_mask(mask, np.array([1.0]), [], 0.5, MM, min_area_px=5)
    return [place_on_wall(c, pose, FRAME_HW) for c in cracks], pose


def test_crack_longer_than_the_frame_is_measured_whole_with_one_id():
    wall = _wall_with_line()
    t = Tracker(merge_distance=60, end_after_frames=5, update_min=20, id_prefix="r")
    events = []
    for i, x in enumerate(range(0, 900, 200)):  # 400 px frames every 200 px: half overlap
        cracks, pose = _view(wall, x, 150)
        assert all(c.length_mm < 210 for c in cracks)  # no single frame sees the whole crack
        events += t.update(cracks, i, FRAME_HW, float(i), pose=pose)
    events += t.finish()
    assert {e.track.crack_id for e in events} == {"r-0001"} and t.total == 1
    m = events[-1].track.measure
    assert m.length_mm == pytest.approx(500.0, rel=0.02)
    assert m.width_max_mm == pytest.approx(3.0, abs=0.3)
    assert events[-1].track.box == pytest.approx((50.0, 150.0, 550.0, 153.0), abs=0.6)
    types_ = [e.type for e in events]
    assert types_[0] == "new" and types_[-1] == "end" and "update" in types_


def test_pieces_of_one_crack_seen_apart_become_one_crack_when_a_view_joins_them():
    wall = _wall_with_line()
    t = Tracker(merge_distance=60, end_after_frames=5, update_min=20, id_prefix="r")
    events = []
    for i, x in enumerate((0, 800, 400)):  # the two ends 200 mm apart first, then the middle that joins them
        cracks, pose = _view(wall, x, 150)
        events += t.update(cracks, i, FRAME_HW, float(i), pose=pose)
    merged = [e for e in events if e.merged_into]
    assert [(e.type, e.track.crack_id, e.merged_into) for e in merged] == [("end", "r-0002", "r-0001")]
    events += t.finish()
    assert [e.track.crack_id for e in events if e.type == "end" and not e.merged_into] == ["r-0001"]
    m = events[-1].track.measure
    assert m.length_mm == pytest.approx(500.0, rel=0.02)  # measured whole, the second piece's mask included
    assert events[-1].track.box == pytest.approx((50.0, 150.0, 550.0, 153.0), abs=0.6)


def test_tracks_that_only_share_a_box_are_not_joined():
    wall = np.zeros((600, 1200), np.uint8)
    wall[300:306, 100:380] = 255
    wall[300:306, 520:800] = 255  # 70 mm apart: two cracks
    t = Tracker(merge_distance=60, end_after_frames=5, update_min=20, id_prefix="r")
    events = []
    for i, x in enumerate((0, 450)):
        cracks, pose = _view(wall, x, 150)
        events += t.update(cracks, i, FRAME_HW, float(i), pose=pose)
    events += t.finish()
    assert not any(e.merged_into for e in events) and t.total == 2


def test_a_pixel_one_view_marks_and_another_leaves_empty_gives_no_width():
    from edge.frame.measure import FAINT, SURE

    pose = Pose(x_mm=100 * MM, y_mm=10 * MM, mm_per_px=MM)
    narrow = np.zeros((20, 200), bool)
    narrow[9:12, :] = True  # 3 px = 1.5 mm
    wide = narrow.copy()
    wide[7:14, 80:120] = True  # this view's edges bulge to 7 px over 40 px
    wm = WallMask(MM)
    wm.paste(wide, (0, 0, 200, 20), pose, (20, 200))
    (m,) = wm.measure()
    assert m.width_max_mm == pytest.approx(3.5, abs=0.3)  # one view: it decides
    wm.paste(narrow, (0, 0, 200, 20), pose, (20, 200))
    fused = wm.fused()
    assert np.count_nonzero(fused == FAINT) == 4 * 40 and np.count_nonzero(fused == SURE) == 3 * 200
    assert wm.sure_area() == 3 * 200  # counted where each paste changed it, the same as on the whole canvas
    (m,) = wm.measure()
    assert m.width_max_mm == pytest.approx(1.5, abs=0.2)  # one against one: the bulge is extent, not width
    assert m.length_mm == pytest.approx(100.0, rel=0.02)
    wm.paste(wide, (0, 0, 200, 20), pose, (20, 200))
    (m,) = wm.measure()
    assert m.width_max_mm == pytest.approx(3.5, abs=0.3)  # two against one
    wm.paste(narrow, (0, 0, 200, 20), pose, (20, 200))
    before = wm.measure()
    wm.settle()  # an ended crack: the votes are applied and freed, the measurement stays
    assert wm.sure_votes is None and wm.measure() == before and before[0].width_max_mm == pytest.approx(1.5, abs=0.2)
    assert wm.sure_area() == np.count_nonzero(wm.fused() == SURE)
    wm.paste(wide, (0, 0, 200, 20), pose, (20, 200))  # seen again: votes start from the settled mask
    assert wm.measure()[0].width_max_mm == pytest.approx(3.5, abs=0.3)
    assert wm.sure_area() == np.count_nonzero(wm.fused() == SURE)


def test_a_views_other_components_are_no_vote_against_a_crack():
    pose = Pose(x_mm=100 * MM, y_mm=10 * MM, mm_per_px=MM)
    whole = np.zeros((20, 200), bool)
    whole[9:12, :] = True
    wm = WallMask(MM)
    wm.paste(whole, (0, 0, 200, 20), pose, (20, 200))
    # the next view sees it in two pieces with a 1 px gap: neither piece votes against the other's pixels
    left, right = whole[:, :100], whole[:, 101:]
    wm.paste(left, (0, 0, 100, 20), pose, (20, 200), others=[(right, (101, 0, 200, 20))], view=1)
    wm.paste(right, (101, 0, 200, 20), pose, (20, 200), others=[(left, (0, 0, 100, 20))], view=1)
    wm.paste(whole, (0, 0, 200, 20), pose, (20, 200), view=2)
    assert wm.nays[9:12].sum() == 3  # only the gap, which the second view saw empty, and once
    assert (wm.sure_votes[9:12, :100] == 3).all() and (wm.sure_votes[9:12, 101:200] == 3).all()


def test_wallmask_merges_another_crack_mask_at_its_scale():
    a, b = WallMask(0.5), WallMask(1.0)
    line = np.ones((2, 100), bool)
    a.paste(line, (0, 0, 100, 2), Pose(x_mm=25, y_mm=10, mm_per_px=0.5), (2, 100))  # wall x 0-50 mm
    b.paste(line, (0, 0, 100, 2), Pose(x_mm=150, y_mm=10, mm_per_px=1.0), (2, 100))  # wall x 100-200 mm
    a.merge(b)
    assert a.bbox_mm() == pytest.approx((0.0, 9.5, 200.0, 11.0), abs=1.0)
    assert a.area() == 100 * 2 + 200 * 4  # b's pixels are 2 x 2 of a's


def test_wallmask_pastes_scaled_and_rotated_views():
    wm = WallMask(1.0)
    mask = np.zeros((10, 100), bool)
    mask[4:6, :] = True
    # a frame at half the wall resolution, turned 90 degrees: the horizontal line lands vertical and twice as long
    wm.paste(mask, (0, 0, 100, 10), Pose(x_mm=500, y_mm=500, mm_per_px=2.0, heading_deg=90.0), (10, 100))
    x0, y0, x1, y1 = wm.bbox_mm()
    assert (x1 - x0) < 10 and (y1 - y0) == pytest.approx(200, abs=3)
    (m,) = wm.measure()
    assert m.length_mm == pytest.approx(200, rel=0.05) and abs(m.orientation_deg) == pytest.approx(90, abs=1)


def test_k_of_n_voting_drops_flicker():
    wall = _wall_with_line()
    cracks, pose = _view(wall, 400, 150)
    t = Tracker(60, 3, 20, "r", votes_k=2, votes_n=3)
    assert t.update(cracks, 0, FRAME_HW, 0.0, pose=pose) == []  # seen once: not yet a crack
    assert t.update([], 1, FRAME_HW, 0.1, pose=pose) == []
    ev = t.update(cracks, 2, FRAME_HW, 0.2, pose=pose)  # seen twice within three frames
    assert [e.type for e in ev] == ["new"]
    flicker = Tracker(60, 3, 20, "r", votes_k=2, votes_n=3)
    flicker.update(cracks, 0, FRAME_HW, 0.0, pose=pose)
    for i in (1, 2, 3):
        assert flicker.update([], i, FRAME_HW, 0.1 * i, pose=pose) == []
    assert flicker.total == 0 and flicker.rejected == 1 and flicker.finish() == []
    with pytest.raises(ValueError):
        Tracker(60, 3, 20, "r", votes_k=3, votes_n=2)


def test_update_only_on_meaningful_change():
    wall = _wall_with_line()
    cracks, pose = _view(wall, 400, 150)
    t = Tracker(60, 10, 20, "r")
    assert [e.type for e in t.update(cracks, 0, FRAME_HW, 0.0, pose=pose)] == ["new"]
    assert t.update(cracks, 1, FRAME_HW, 0.1, pose=pose) == []  # the same view again: nothing new
    wider = wall.copy()
    wider[296:312, 600:640] = 255  # a 16 px (8 mm) wide stretch: severity category 2 -> 3
    cracks2, _ = _view(wider, 400, 150)
    # two views saw it narrow there: the wider stretch outvotes them in its third view
    assert t.update(cracks2, 2, FRAME_HW, 0.2, pose=pose) == [] and t.update(cracks2, 3, FRAME_HW, 0.3, pose=pose) == []
    ev = t.update(cracks2, 4, FRAME_HW, 0.4, pose=pose)
    assert [e.type for e in ev] == ["update"] and ev[0].track.measure.width_max_mm > 6


def test_boxes_turn_with_the_heading():
    from edge.types import Crack

    crack = Crack(bbox_px=(300, 100, 400, 110), confidence=1.0, tiles=1)  # right of the centre, horizontal
    pose = Pose(x_mm=1000, y_mm=500, mm_per_px=1.0, heading_deg=90.0)
    x0, y0, x1, y1 = place_on_wall(crack, pose, (200, 400)).bbox_mm
    # turned a quarter: now below the centre and upright
    assert (x0, y0, x1, y1) == pytest.approx((990, 600, 1000, 700))
    assert place_on_wall(crack, Pose(1000, 500, 1.0), (200, 400)).bbox_mm == (1100.0, 500.0, 1200.0, 510.0)


def test_near_a_long_diagonal_crack_box_is_not_near_the_crack():
    """A second crack inside the box of a long diagonal one, but far from its pixels, is another crack."""
    wall = np.zeros((600, 1200), np.uint8)
    for i in range(500):  # a diagonal 1 px crack, thickened to 3 px
        wall[50 + i, 100 + 2 * i : 103 + 2 * i] = 255
    wall[400:403, 150:400] = 255  # a short crack in the empty corner of the diagonal's box, 90 mm from it or more
    t = Tracker(merge_distance=60, end_after_frames=5, update_min=20, id_prefix="r")
    h, w = 600, 1200
    pose = Pose(x_mm=w / 2 * MM, y_mm=h / 2 * MM, mm_per_px=MM)
    cracks = [place_on_wall(c, pose, (h, w)) for c in cracks_from_mask(wall > 0, np.array([1.0]), [], 0.5, MM, 5)]
    first = [c for c in cracks if c.bbox_px[0] == 100]
    second = [c for c in cracks if c.bbox_px[0] == 150]
    t.update(first, 0, (h, w), 0.0, pose=pose)
    events = t.update(second, 1, (h, w), 0.1, pose=pose)
    assert [e.type for e in events] == ["new"] and t.total == 2


def test_specks_shorter_than_min_length_are_not_announced():
    wall = np.zeros((600, 1200), np.uint8)
    wall[300:303, 500:510] = 255  # 10 px = 5 mm
    cracks, pose = _view(wall, 400, 150)
    t = Tracker(60, 3, 20, "r", min_length_mm=10.0)
    assert t.update(cracks, 0, FRAME_HW, 0.0, pose=pose) == [] and t.rejected == 1
    longer, _ = _view(_wall_with_line(), 400, 150)
    assert [e.type for e in t.update(longer, 1, FRAME_HW, 0.1, pose=pose)] == ["new"]


def test_the_wall_keeps_each_pixels_surest_view():
    from edge.frame.measure import FAINT, SURE

    faint_view = np.zeros((10, 200), np.uint8)
    faint_view[4:7, :100] = SURE
    faint_view[4:7, 100:] = FAINT  # this view saw the crack's second half only faintly
    sure_view = np.zeros((10, 100), bool)
    sure_view[4:7, :] = True  # the next one sees that half clearly
    wm = WallMask(MM)
    wm.paste(faint_view, (0, 0, 200, 10), Pose(x_mm=100 * MM, y_mm=5 * MM, mm_per_px=MM), (10, 200))
    assert np.count_nonzero(wm.canvas == FAINT) == 300
    wm.paste(sure_view, (100, 0, 200, 10), Pose(x_mm=100 * MM, y_mm=5 * MM, mm_per_px=MM), (10, 200))
    assert np.count_nonzero(wm.canvas == FAINT) == 0 and np.count_nonzero(wm.canvas == SURE) == 600
    (m,) = wm.measure()
    assert m.length_mm == pytest.approx(100.0, rel=0.02) and m.width_max_mm == pytest.approx(1.5, abs=0.01)
