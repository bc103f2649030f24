"""Crack traces: the centreline as bounded polylines with the width at each vertex (edge/frame/trace.py),
the evidence JPEG made to fit its cap (edge/comms/evidence_image.py), and evidence rows in the outbox."""
import cv2
import numpy as np

from edge.comms.evidence_image import encode_cut, evidence_cut
from edge.comms.outbox import EVIDENCE, TELEMETRY, Outbox
from edge.frame.measure import FAINT, SURE
from edge.frame.trace import trace_mask, vertex_count


def test_a_straight_crack_is_one_segment_with_its_width():
    mask = np.zeros((60, 220), bool)
    mask[28:33, 10:210] = True  # 5 px wide, 200 long
    lines = trace_mask(mask)
    assert len(lines) == 1 and len(lines[0]) == 2
    (xa, ya, wa), (xb, yb, wb) = sorted(lines[0])
    assert xa <= 14 and xb >= 205 and abs(ya - 30) <= 1 and abs(yb - 30) <= 1
    assert 4.0 <= wa <= 6.0 and 4.0 <= wb <= 6.0


def test_branches_are_polylines_of_their_own():
    mask = np.zeros((200, 300), np.uint8)
    cv2.line(mask, (10, 20), (150, 100), 1, 5)
    cv2.line(mask, (150, 100), (290, 30), 1, 3)
    cv2.line(mask, (150, 100), (150, 190), 1, 2)
    lines = trace_mask(mask > 0)
    assert len(lines) == 3
    ends = sorted((round(x), round(y)) for line in lines for x, y, _ in (line[0], line[-1]))
    assert any(abs(x - 10) <= 4 and abs(y - 20) <= 4 for x, y in ends)
    assert any(abs(x - 150) <= 4 and abs(y - 190) <= 4 for x, y in ends)


def test_the_trace_follows_the_crack_wherever_it_lies_in_its_mask():
    mask = np.zeros((200, 300), np.uint8)
    cv2.line(mask, (10, 20), (150, 100), 1, 5)
    cv2.line(mask, (150, 100), (290, 30), 1, 3)
    cv2.line(mask, (150, 100), (150, 190), 1, 2)
    moved = trace_mask(np.pad(mask, ((7, 30), (3, 20))) > 0)
    assert moved == [[(x + 3, y + 7, w) for x, y, w in line] for line in trace_mask(mask > 0)]


def test_a_crack_measured_then_traced_is_thinned_once():
    from edge.frame import measure

    mask = np.zeros((90, 160), bool)
    mask[40:46, 5:150] = True
    mask[20:40, 70:73] = True
    calls = []
    real = measure.skeletonize
    measure.skeletonize = lambda crop: calls.append(1) or real(crop)
    try:
        figures = measure.measure_component(mask)
        lines = trace_mask(mask)
    finally:
        measure.skeletonize = real
    assert calls == [1] and figures.length_mm > 150 and len(lines) == 3
    skel, dist = measure.skeleton_and_distance(mask)
    assert not skel.flags.writeable and not dist.flags.writeable  # shared: nobody may change them


def test_the_trace_is_bounded_whatever_the_crack():
    mask = np.zeros((400, 2000), np.uint8)
    xs = np.arange(10, 1990)
    ys = (200 + 120 * np.sin(xs / 23.0)).astype(np.int32)
    cv2.polylines(mask, [np.stack([xs, ys], 1).reshape(-1, 1, 2)], False, 1, 3)
    for cap in (64, 10):
        lines = trace_mask(mask > 0, max_vertices=cap)
        assert 2 <= vertex_count(lines) <= cap
    assert trace_mask(np.zeros((10, 10), bool)) == []
    assert trace_mask(np.ones((1, 1), bool)) == []  # a lone pixel


def test_faint_pixels_give_extent_but_no_width():
    levels = np.zeros((40, 200), np.uint8)
    levels[18:23, 10:100] = SURE
    levels[19:22, 100:190] = FAINT
    (line,) = trace_mask(levels)
    faint_end = max(line, key=lambda v: v[0])
    assert faint_end[0] >= 185 and faint_end[2] == 0.0
    assert max(w for _, _, w in line) >= 4.0


def evidence_jpeg(rgb, box, max_bytes, *cut_args, **cut_kw):
    return encode_cut(evidence_cut(rgb, box, *cut_args, **cut_kw), max_bytes)


def test_evidence_jpeg_fits_its_cap_or_is_none():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (960, 1280, 3), np.uint8)  # noise: the hardest picture to compress
    box = (100, 100, 900, 700)
    trace = [[[120.5, 120.5, 2.0], [880.5, 680.5, 3.0]]]
    small = evidence_jpeg(frame, box, 30 * 1024, mm_per_px=0.5, polylines_px=trace)
    assert small is not None and len(small) <= 30 * 1024 and small[:3] == b"\xff\xd8\xff"
    img = cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and max(img.shape[:2]) < 1024  # shrunk to fit
    assert evidence_jpeg(frame, box, 500) is None  # not even the smallest try fits
    flat = np.full((960, 1280, 3), 128, np.uint8)
    whole = evidence_jpeg(flat, box, 60 * 1024, mm_per_px=0.5)
    img = cv2.imdecode(np.frombuffer(whole, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (664, 864)  # box + 32 px margin, full size
    assert img[-8:-6, 8:40].min() > 220  # the white scale bar, bottom left


def test_the_crop_cut_ahead_makes_the_same_jpeg_as_the_frame():
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), np.uint8), (0, 0), 2)
    hires = cv2.resize(frame, (1280, 960))  # the same view at twice the resolution
    trace = [[[30.5, 40.5, 2.0], [300.5, 200.5, 3.0], [410.5, 230.5, 2.5]]]
    for box, with_hires in (((20, 30, 420, 240), False), ((5, 2, 639, 470), False), ((20, 30, 420, 240), True)):
        rgb, hi = frame.copy(), hires.copy() if with_hires else None
        whole = evidence_jpeg(rgb, box, 40 * 1024, 0.5, trace, 32, hi)
        cut = evidence_cut(rgb, box, 0.5, trace, 32, hi)
        rgb[:] = 0  # the frame is gone or reused: the cut holds its own pixels
        if hi is not None:
            hi[:] = 0
        assert cut.crop.size <= frame.size * (4 if with_hires else 1) and encode_cut(cut, 40 * 1024) == whole


def test_evidence_rows_are_kept_like_events(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", max_messages=3)
    box.put("crackbot/r/evidence/c-1", b"\xff\xd8\xff jpeg", qos=1, kind=EVIDENCE)
    for _ in range(4):
        box.put("crackbot/r/telemetry", b"{}", qos=0, kind=TELEMETRY)
    box.put("crackbot/r/evidence/c-2", b"\xff\xd8\xff jpeg", qos=1, kind=EVIDENCE)
    assert box.count(EVIDENCE) == 2  # the bound dropped telemetry only
    rows = [r for r in box.pending() if r[4] == EVIDENCE]
    assert [r[3] for r in rows] == [1, 1]
    box.ack(rows[0][0])
    assert box.count(EVIDENCE) == 1
    box.close()


def test_the_kept_skeletons_stay_within_their_bytes():
    from edge.frame import measure

    for shift in range(3):  # masks of long cracks: 12 MB of distances each, over what may be kept
        big = np.zeros((2000, 1500), bool)
        big[1000 + shift : 1004 + shift, 10:1490] = True
        skel, _ = measure.skeleton_and_distance(big)
        assert skel.sum() > 1400
    held = sum(skel.nbytes + dist.nbytes for skel, dist, _ in measure._SKELETONS.values())
    assert held <= measure._SKELETONS_BYTES
