import threading

from edge.comms.events import crack_event, status_payload
from edge.comms.outbox import Outbox
from edge.comms.schemas import validator
from edge.wall.tracker import Tracker, TrackEvent
from edge.types import Crack


def _crack(x0, y0, x1, y1, conf=0.9):
    return Crack(bbox_px=(0, 0, 10, 10), confidence=conf, tiles=1, bbox_mm=(x0, y0, x1, y1))


def test_one_id_per_physical_crack_and_lifecycle():
    t = Tracker(merge_distance=50, end_after_frames=2, update_min=20, id_prefix="r1-abc")
    ev = t.update([_crack(100, 100, 200, 200)], 0, (960, 1280), 0.0)
    assert [e.type for e in ev] == ["new"]
    # same crack seen again, slightly shifted, growing by 60 mm: one update, same id
    ev = t.update([_crack(130, 100, 260, 200)], 1, (960, 1280), 0.1)
    assert [e.type for e in ev] == ["update"] and ev[0].track.crack_id == "r1-abc-0001"
    # tiny change: no event
    assert t.update([_crack(130, 100, 265, 200)], 2, (960, 1280), 0.2) == []
    # a far crack is another id; the first one ends after 2 unseen frames
    ev = t.update([_crack(2000, 100, 2100, 200)], 3, (960, 1280), 0.3)
    assert [e.type for e in ev] == ["new"] and ev[0].track.crack_id == "r1-abc-0002"
    ev = t.update([], 4, (960, 1280), 0.4)
    assert [(e.type, e.track.crack_id, e.seq) for e in ev] == [("end", "r1-abc-0001", 2)]
    ev = t.finish()
    assert [(e.type, e.track.crack_id) for e in ev] == [("end", "r1-abc-0002")]
    assert t.total == 2


def test_event_payloads_match_the_schema():
    t = Tracker(50, 2, 20, "r1-abc")
    (ev,) = t.update([_crack(100, 100, 200, 200)], 0, (960, 1280), 1.5)
    payload = crack_event("r1", ev, "crack_classifier", "a" * 64)
    errors = list(validator("event").iter_errors(payload))
    assert errors == []
    assert payload["wall"]["center_mm"] == [150.0, 150.0] and "merged_into" not in payload
    merged = crack_event("r1", TrackEvent("end", ev.track, 1, merged_into="r1-abc-0007"), "crack_classifier", "a" * 64)
    assert merged["merged_into"] == "r1-abc-0007" and list(validator("event").iter_errors(merged)) == []
    assert list(validator("status").iter_errors(status_payload("r1", "online"))) == []
    bad = dict(payload, type="exploded")
    assert list(validator("event").iter_errors(bad))


def test_outbox_keeps_order_and_survives_reopen(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    ids = [box.put("t", f"m{i}".encode()) for i in range(5)]
    box.ack(ids[1])
    assert [r[2] for r in box.pending()] == [b"m0", b"m2", b"m3", b"m4"]
    assert [r[2] for r in box.pending(after_id=ids[2], limit=1)] == [b"m3"]
    box.close()
    again = Outbox(tmp_path / "o.sqlite")
    assert len(again) == 4


def test_outbox_is_thread_safe(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")

    def writer(k):
        for i in range(50):
            box.put("t", f"{k}-{i}".encode())

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    assert len(box) == 200


def test_crack_seen_again_after_end_keeps_its_id():
    t = Tracker(merge_distance=50, end_after_frames=1, update_min=20, id_prefix="r")
    t.update([_crack(100, 100, 200, 200)], 0, (960, 1280), 0.0)
    assert [e.type for e in t.update([], 1, (960, 1280), 0.1)] == ["end"]
    ev = t.update([_crack(150, 120, 210, 190)], 5, (960, 1280), 0.5)  # the next lawnmower row
    assert [(e.type, e.track.crack_id) for e in ev] == [("update", "r-0001")]
    assert t.total == 1


def test_a_crack_without_a_place_on_the_wall_is_a_scene_of_its_own():
    # frames without a pose (a folder of photos): the same pixels in two frames are two cracks, each
    # announced and ended in its own frame, with nothing left to match later frames against
    t = Tracker(merge_distance=50, end_after_frames=3, update_min=20, id_prefix="p", votes_k=2, votes_n=3,
                min_length_mm=10)
    photo = Crack(bbox_px=(100, 100, 200, 120), confidence=0.9, tiles=1, length_mm=100.0, width_max_mm=3.0,
                  width_mean_mm=2.0, width_p95_mm=3.0, orientation_deg=0.0, below_resolution=False)
    first = t.update([photo], 0, (480, 640), 0.0)
    second = t.update([photo], 1, (480, 640), 0.1)
    assert [(e.type, e.track.crack_id) for e in first] == [("new", "p-0001"), ("end", "p-0001")]
    assert [(e.type, e.track.crack_id) for e in second] == [("new", "p-0002"), ("end", "p-0002")]
    assert first[0].track.measure.length_mm == 100.0 and t.total == 2 and not t.open and not t.ended
    speck = Crack(bbox_px=(0, 0, 5, 5), confidence=0.9, tiles=1, length_mm=4.0, width_max_mm=1.0,
                  width_mean_mm=1.0, width_p95_mm=1.0, orientation_deg=0.0, below_resolution=False)
    assert t.update([speck], 2, (480, 640), 0.2) == [] and t.rejected == 1
    assert t.finish() == []
