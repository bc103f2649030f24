"""The crack registry: dedupe by event_id, crack state over new/update/end, out-of-order events."""
from __future__ import annotations

import sqlite3

import pytest

from edge.comms.schemas import validator
from monitor import MonitorError
from monitor.registry import Registry


def test_make_event_is_schema_valid(make_event):
    validator("event").validate(make_event())


def test_duplicate_event_id_changes_nothing(make_event):
    reg = Registry()
    event = make_event()
    assert reg.add_event(event) is True
    before = reg.cracks()
    assert reg.add_event(dict(event, confidence=0.1)) is False
    assert reg.cracks() == before
    assert reg.counts()["events"] == 1


def test_crack_state_follows_new_update_end(make_event):
    reg = Registry()
    reg.add_event(make_event(seq=0, ts=100.0))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["state"] == "new" and crack["n_events"] == 1
    assert crack["wall_bbox_mm"] == [1000.0, 500.0, 1400.0, 620.0]
    assert crack["center_mm"] == [1200.0, 560.0]
    assert crack["frame_bbox_px"] == [100, 120, 300, 180]

    reg.add_event(make_event(type="update", seq=1, ts=101.0, width_max_mm=2.5, confidence=0.97,
                             severity={"scale": "BRE-Digest-251", "category": 2, "label": "slight"}))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["state"] == "updated"
    assert crack["width_max_mm"] == 2.5 and crack["confidence"] == 0.97
    assert (crack["severity_category"], crack["severity_label"]) == (2, "slight")

    reg.add_event(make_event(type="end", seq=2, ts=103.0))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["state"] == "ended"
    assert (crack["first_ts"], crack["last_ts"], crack["n_events"]) == (100.0, 103.0, 3)
    assert reg.counts() == {"robots": 1, "events": 3, "cracks": 1,
                            "events_by_type": {"new": 1, "update": 1, "end": 1},
                            "cracks_by_state": {"new": 0, "updated": 0, "ended": 1}, "cracks_merged": 0}


def test_out_of_order_events(make_event):
    reg = Registry()
    # The update overtakes the new (an outbox re-send after a reconnect).
    reg.add_event(make_event(type="update", seq=1, ts=101.0, width_max_mm=3.0))
    reg.add_event(make_event(type="new", seq=0, ts=100.0, width_max_mm=1.0))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["state"] == "updated" and crack["width_max_mm"] == 3.0  # the newest seq wins
    assert crack["first_ts"] == 100.0 and crack["last_seq"] == 1
    # After the end, a late update neither revives the crack nor overwrites newer numbers.
    reg.add_event(make_event(type="end", seq=3, ts=104.0, width_max_mm=3.0))
    reg.add_event(make_event(type="update", seq=2, ts=102.0, width_max_mm=9.0))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["state"] == "ended" and crack["width_max_mm"] == 3.0 and crack["n_events"] == 4


def test_null_measurement_keeps_the_known_one(make_event):
    reg = Registry()
    reg.add_event(make_event(seq=0, length_mm=None, width_max_mm=None, width_mean_mm=None,
                             wall={"bbox_mm": None, "center_mm": None},
                             severity={"scale": "BRE-Digest-251", "category": None, "label": None}))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["wall_bbox_mm"] is None and crack["center_mm"] is None and crack["severity_category"] is None
    reg.add_event(make_event(type="update", seq=1))
    reg.add_event(make_event(type="end", seq=2, length_mm=None, wall={"bbox_mm": None, "center_mm": None}))
    crack = reg.crack("rb-01", "c-0001")
    assert crack["length_mm"] == 410.0 and crack["wall_bbox_mm"] == [1000.0, 500.0, 1400.0, 620.0]


def test_cracks_per_robot_and_status(make_event):
    reg = Registry()
    reg.add_event(make_event(robot_id="a", crack_id="1", ts=5.0))
    reg.add_event(make_event(robot_id="a", crack_id="2", ts=6.0))
    reg.add_event(make_event(robot_id="b", crack_id="1", ts=7.0))
    assert [c["crack_id"] for c in reg.cracks("a")] == ["1", "2"]
    assert len(reg.cracks()) == 3 and reg.counts("b")["cracks"] == 1
    reg.set_status("a", "online", 10.0)
    reg.set_status("a", "stopped", 20.0)
    reg.set_status("a", "online", 15.0)  # an older status (a stale retained one) loses
    robots = {r["robot_id"]: r for r in reg.robots()}
    assert robots["a"]["state"] == "stopped" and robots["a"]["state_ts"] == 20.0
    assert robots["b"]["state"] is None and robots["b"]["last_seen"] is not None
    assert [e["crack_id"] for e in reg.events(robot_id="a")] == ["1", "2"]


def test_file_registry_is_wal_and_persists(tmp_path, make_event):
    path = tmp_path / "cracks.db"
    event = make_event()
    with Registry(path) as reg:
        assert reg.add_event(event)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Registry(path) as reg:
        assert reg.add_event(event) is False  # dedupe survives a restart of the subscriber
        assert reg.crack("rb-01", "c-0001")["n_events"] == 1


def test_registry_in_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(MonitorError, match="does not exist"):
        Registry(tmp_path / "nope" / "cracks.db")


def test_a_crack_merged_into_another_leaves_the_lists_but_keeps_its_events(make_event):
    reg = Registry()
    reg.add_event(make_event(crack_id="c-0001"))
    reg.add_event(make_event(crack_id="c-0002"))
    merged = make_event(crack_id="c-0002", type="end", seq=1, merged_into="c-0001")
    validator("event").validate(merged)
    reg.add_event(merged)
    assert [c["crack_id"] for c in reg.cracks()] == ["c-0001"]
    assert [c["merged_into"] for c in reg.cracks(merged=True)] == [None, "c-0001"]
    counts = reg.counts()
    assert counts["cracks"] == 1 and counts["cracks_merged"] == 1 and counts["events"] == 3
    assert len(reg.events(crack_id="c-0002")) == 2
