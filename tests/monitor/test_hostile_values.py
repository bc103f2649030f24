"""Hostile and out-of-range values: refused where events enter, harmless where they are read back.

Each case here broke the monitor before: an OverflowError in the CSV writer (ts 1e20), an exception
in the map (a corner at 1e308), an endless grid loop (a box at 1e308), NaN taken for a duplicate.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.crackmap import render_crack_map
from monitor.exports import cracks_csv, cracks_geojson
from monitor.live import render_table
from monitor.registry import Registry
from monitor.report import evidence_html, render_report, write_outputs
from monitor.subscriber import InvalidPayload, Subscriber, parse_payload

TOPIC = "crackbot/rb-01/events"


@pytest.fixture
def deadline():
    """Fail a test that runs over 20 s (the map's grid loop once never ended)."""
    def expired(*_):
        raise TimeoutError("over 20 s: a loop that does not end")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _raw(event: dict, **replace: str) -> bytes:
    """The event as JSON text with placeholders replaced by raw tokens (NaN, Infinity, 1e400)."""
    text = json.dumps(event)
    for key, token in replace.items():
        text = text.replace(f'"@{key}@"', token)
    return text.encode()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["ts", "confidence", "length_mm"])
def test_nan_and_infinity_are_not_json(make_event, field, token):
    payload = _raw(make_event(**{field: "@v@"}), v=token)
    with pytest.raises(InvalidPayload) as err:
        parse_payload(TOPIC, payload, "event")
    assert err.value.reason == "not_json"


def test_nan_inside_a_box_is_refused(make_event):
    event = make_event(wall={"bbox_mm": [0, 0, "@v@", 10], "center_mm": [5, 5]})
    with pytest.raises(InvalidPayload):
        parse_payload(TOPIC, _raw(event, v="NaN"), "event")


@pytest.mark.parametrize("overrides", [
    {"ts": 1e20},
    {"ts": -1.0},
    {"wall": {"bbox_mm": [0.0, 0.0, 1e308, 10.0], "center_mm": [5.0, 5.0]}},
    {"wall": {"bbox_mm": [0.0, 0.0, 10.0, 10.0], "center_mm": [1e300, 5.0]}},
    {"length_mm": 1e308},
    {"width_max_mm": 1e300},
    {"width_mean_mm": 1e12},
    {"seq": 10 ** 30},
    {"frame": {"index": 10 ** 30, "bbox_px": [0, 0, 5, 5], "width": 10, "height": 10}},
    {"frame": {"index": 1, "bbox_px": [0, 0, 1e308, 5], "width": 10, "height": 10}},
    {"frame": {"index": 1, "bbox_px": [0, 0, 5, 5], "width": 10 ** 12, "height": 10}},
    {"severity": {"scale": "BRE-Digest-251", "category": 10 ** 30, "label": "x"}},
    {"tiles": 10 ** 30},
])
def test_numbers_out_of_bounds_are_refused(make_event, overrides):
    with pytest.raises(InvalidPayload) as err:
        parse_payload(TOPIC, json.dumps(make_event(**overrides)).encode(), "event")
    assert err.value.reason == "schema"


def test_a_status_from_the_far_future_is_refused():
    status = {"schema_version": 1, "robot_id": "rb-01", "state": "online", "ts": 1e300}
    with pytest.raises(InvalidPayload):
        parse_payload("crackbot/rb-01/status", json.dumps(status).encode(), "status")


@pytest.mark.parametrize("payload", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 3000 + b"1" + b"}" * 3000])
def test_deep_nesting_is_counted_not_raised(payload):
    sub = Subscriber("127.0.0.1", 1, Registry())
    sub._on_message(None, None, SimpleNamespace(topic=TOPIC, payload=payload, retain=False))
    summary = sub.summary()
    assert summary["invalid"] == 1 and summary["events_received"] == 0


def test_nan_ts_is_counted_invalid_not_duplicate(make_event):
    sub = Subscriber("127.0.0.1", 1, Registry())
    event = make_event(ts="@v@")
    for _ in range(2):
        sub._on_message(None, None, SimpleNamespace(topic=TOPIC, payload=_raw(event, v="NaN"), retain=False))
    summary = sub.summary()
    assert summary["invalid"] == 2 and summary["duplicates_dropped"] == 0 and summary["invalid_by_reason"] == {
        "not_json": 2}


# -- values already stored (an older registry): every export survives them -------------------------------

@pytest.fixture
def poisoned(make_event, tmp_path):
    """A registry file whose cracks hold values no event may carry now, written straight into SQLite."""
    reg = Registry(tmp_path / "old.sqlite")
    for i in range(3):
        reg.add_event(make_event(crack_id=f"c-{i}", evidence=f"=HYPERLINK(\"http://x/{i}\")"))
    db = reg._db
    db.execute("UPDATE cracks SET first_ts = 1e20, last_ts = 1e20, wall_x1 = 1e308, center_x_mm = 1e308,"
               " width_max_mm = 1e308, length_mm = 1e308 WHERE crack_id = 'c-0'")
    db.execute("UPDATE cracks SET wall_x0 = -1e308, wall_y1 = 1e308, confidence = 1e308,"
               " severity_category = 123456789012 WHERE crack_id = 'c-1'")
    inf = float("inf")
    db.execute("UPDATE cracks SET wall_x1 = ?, center_y_mm = ?, last_ts = ?, width_mean_mm = ?"
               " WHERE crack_id = 'c-2'", (inf, -inf, inf, inf))
    yield reg
    reg.close()


def test_every_export_survives_stored_values(poisoned, tmp_path, deadline):
    written = write_outputs(poisoned, csv_path=tmp_path / "c.csv", geojson_path=tmp_path / "c.geojson",
                            maps_dir=tmp_path / "maps", report_path=tmp_path / "r.html")
    rows = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert len(rows) == 3
    by_id = {r["crack_id"]: r for r in rows}
    assert by_id["c-0"]["first_seen_utc"] == "" and by_id["c-2"]["wall_x1_mm"] == ""
    doc = json.loads((tmp_path / "c.geojson").read_text())  # strict JSON: no NaN / Infinity tokens
    assert "Infinity" not in (tmp_path / "c.geojson").read_text()
    assert all(f["geometry"] is None for f in doc["features"])  # no corner of these three is drawable
    assert cv2.imread(written["maps"]["wall"]) is not None
    assert "c-2" in (tmp_path / "r.html").read_text()
    assert "c-0" in render_table(poisoned.cracks())


def test_map_of_a_huge_box_ends(deadline):
    # 1e9 mm is the largest corner an event may carry: the map spans it with a bounded grid.
    crack = {"crack_id": "c", "robot_id": "r", "wall_bbox_mm": [-1e9, -1e9, 1e9, 1e9], "center_mm": [0, 0],
             "confidence": 0.5}
    near = {"crack_id": "d", "robot_id": "r", "wall_bbox_mm": [10.0, 10.0, 10.5, 10.5], "center_mm": [1e308, 0.0]}
    img = render_crack_map([crack, near], wall_size_mm=(1e9, 1e9))
    assert img.shape[1] == 1600


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted():
    cracks = [{"robot_id": "r", "crack_id": c, "severity_label": "-1+2", "model_name": "@SUM(A1)",
               "evidence": "\tx", "wall_id": "\rw", "center_mm": [-5.0, 3.0]} for c in ("=1+1", "+cmd|' /C calc'!A0")]
    rows = list(csv.DictReader(io.StringIO(cracks_csv(cracks), newline="")))
    for row in rows:
        for name in ("crack_id", "severity_label", "model_name", "evidence", "wall_id"):
            assert row[name].startswith("'"), (name, row[name])
    assert rows[0]["center_x_mm"] == "-5.0"  # a number stays a number


# -- evidence: only files under the evidence root ------------------------------------------------

@pytest.fixture
def evidence_tree(tmp_path):
    root, outside = tmp_path / "evidence", tmp_path / "secret"
    root.mkdir()
    outside.mkdir()
    for folder in (root, outside):
        cv2.imwrite(str(folder / "crop.png"), np.full((8, 8, 3), 90, np.uint8))
    os.symlink(outside / "crop.png", root / "link.png")
    return root, outside


def test_evidence_is_embedded_from_under_the_root_only(evidence_tree):
    root, outside = evidence_tree
    assert "data:image/png" in evidence_html("crop.png", root)
    assert "data:image/png" in evidence_html(str(root / "crop.png"), root)
    for hostile in (str(outside / "crop.png"), "../secret/crop.png", "link.png",
                    str(root / ".." / "secret" / "crop.png")):
        cell = evidence_html(hostile, root)
        assert "data:" not in cell and "not under the evidence root" in cell, hostile


def test_no_root_embeds_nothing(evidence_tree):
    root, _ = evidence_tree
    assert "data:" not in evidence_html(str(root / "crop.png"))


@pytest.mark.parametrize("url", ["http://attacker.example/x.png", "https://a.example/y.jpg"])
def test_remote_evidence_is_a_link_never_loaded(url):
    html = render_report([{"robot_id": "r", "crack_id": "c", "evidence": url}])
    assert f'src="{url}"' not in html and f'href="{url}"' in html


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "data:image/png;base64,AAAA"])
def test_other_url_schemes_are_text(url):
    cell = evidence_html(url, None)
    assert "href" not in cell and "src" not in cell


# -- property: whatever arrives, the subscriber refuses it or every export can take it ---------------

_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 40, 10 ** 40),
                     st.sampled_from([1e308, -1e308, 1e9, 1e10, 0.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ts=_numbers, box=st.lists(_numbers, min_size=4, max_size=4), centre=st.lists(_numbers, min_size=2, max_size=2),
       length=_numbers, conf=_numbers)
def test_property_refused_or_exportable(make_event, ts, box, centre, length, conf):
    event = make_event(ts=ts, wall={"bbox_mm": box, "center_mm": centre}, length_mm=length, confidence=conf)
    try:
        payload = json.dumps(event).encode()  # Python writes NaN / Infinity as the hostile robot would
        data = parse_payload(TOPIC, payload, "event")
    except InvalidPayload:
        return
    reg = Registry()
    assert reg.add_event(data)
    cracks = reg.cracks()
    cracks_csv(cracks)
    json.dumps(cracks_geojson(cracks), allow_nan=False)
    render_crack_map(cracks)
    render_report(cracks)
    assert all(math.isfinite(v) for v in data["wall"]["bbox_mm"])
