"""Evidence JPEGs from robots (monitor/evidence.py): valid ones kept in the registry, newest first; hostile ones
refused and counted, the subscriber going on. And event payloads of schema 1 and 2 both taken."""
from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from monitor.evidence import MAX_EVIDENCE_BYTES, InvalidEvidence, check_evidence, jpeg_size
from monitor.registry import Registry
from monitor.subscriber import Subscriber, parse_payload

TOPIC = "crackbot/rb-01/evidence/rb-01-abc123-0001"


def _jpeg(w=64, h=48, value=120) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((h, w, 3), value, np.uint8))
    return data.tobytes()


def _with_size(jpeg: bytes, w: int, h: int) -> bytes:
    """The same JPEG with its frame header claiming another size (a decompression bomb's trick)."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[: i + 5] + h.to_bytes(2, "big") + w.to_bytes(2, "big") + jpeg[i + 9 :]


def _message(sub, topic, payload):
    sub._on_message(None, None, SimpleNamespace(topic=topic, payload=payload, retain=False))


def test_a_valid_crop_is_kept_and_replaced_by_a_newer_one():
    registry = Registry()
    sub = Subscriber("127.0.0.1", 1, registry)
    first, second = _jpeg(value=50), _jpeg(value=200)
    assert jpeg_size(first) == (64, 48)
    _message(sub, TOPIC, first)
    assert registry.evidence_jpeg("rb-01", "rb-01-abc123-0001") == first
    _message(sub, TOPIC, second)
    assert registry.evidence_jpeg("rb-01", "rb-01-abc123-0001") == second
    assert registry.evidence_jpeg("rb-01", "other") is None and registry.evidence_count() == 1
    assert sub.summary()["evidence_received"] == 2 and sub.summary()["invalid"] == 0


HOSTILE = [
    ("crackbot/rb-01/evidence/c-1", b"", "not_jpeg"),
    ("crackbot/rb-01/evidence/c-1", b"GIF89a" + b"\0" * 100, "not_jpeg"),
    ("crackbot/rb-01/evidence/c-1", b"\xff\xd8\xff", "not_jpeg"),  # the magic alone
    ("crackbot/rb-01/evidence/c-1", b"\xff\xd8\xff\xe0\x00\x10" + b"\0" * 8, "not_jpeg"),  # cut before a frame header
    ("crackbot/rb-01/evidence/c-1", b"\xff\xd8" + b"\xff\xe0\xff\xff" * 1000, "not_jpeg"),  # lengths running off
    ("crackbot/rb-01/evidence/c-1", _with_size(_jpeg(), 65535, 65535), "not_jpeg"),  # claims 4 gigapixels
    ("crackbot/rb-01/evidence/c-1", _with_size(_jpeg(), 0, 48), "not_jpeg"),
    ("crackbot/rb-01/evidence/c-1", b"\xff\xd8\xff" + b"\0" * (MAX_EVIDENCE_BYTES + 1), "too_large"),
    ("crackbot/rb-01/evidence/c 1", _jpeg(), "topic"),
    ("crackbot/rb-01/evidence/" + "c" * 129, _jpeg(), "topic"),
    ("crackbot/rb-01/evidence/..", _jpeg(), "topic"),  # no crack id reads as a path
    ("crackbot/rb-01/evidence/c-1/x", _jpeg(), "topic"),
    ("crackbot/rb-01/evidence", _jpeg(), "topic"),  # no crack named
]


@pytest.mark.parametrize("topic,payload,reason", HOSTILE)
def test_hostile_evidence_is_refused_and_counted(topic, payload, reason):
    registry = Registry()
    sub = Subscriber("127.0.0.1", 1, registry)
    _message(sub, topic, payload)
    summary = sub.summary()
    with pytest.raises(InvalidEvidence) as err:
        check_evidence(topic, payload, "crackbot")
    assert err.value.reason == reason
    assert summary["invalid"] == 1 and summary["invalid_by_reason"] == {reason: 1}
    assert summary["evidence_received"] == 0 and registry.evidence_count() == 0
    _message(sub, TOPIC, _jpeg())  # and the subscriber goes on
    assert sub.summary()["evidence_received"] == 1


def test_events_of_schema_1_and_2_are_both_taken(make_event):
    old = make_event()  # schema 1, as robots before traces send
    assert parse_payload("crackbot/rb-01/events", json.dumps(old).encode(), "event")["schema_version"] == 1
    trace = {"wall_mm": [[[1000.0, 500.0, 0.8], [1400.0, 620.0, 0.5]]], "frame_px": [[[100.5, 120.5, 1.6]]]}
    new = make_event(schema_version=2, trace=trace, event_id="e-2")
    assert parse_payload("crackbot/rb-01/events", json.dumps(new).encode(), "event")["trace"] == trace
    registry = Registry()
    registry.add_event(old)
    assert registry.crack("rb-01", "c-0001")["trace_mm"] is None
    registry.add_event({**new, "seq": 1, "type": "update"})
    registry.add_event({**make_event(seq=2, type="end", event_id="e-3"), "schema_version": 2})  # no trace: kept
    assert registry.crack("rb-01", "c-0001")["trace_mm"] == trace["wall_mm"]


@pytest.mark.parametrize("trace", [
    {"wall_mm": [[[0.0, 0.0, 1.0]] * 65]},  # a polyline over 64 vertices
    {"wall_mm": [[[0.0, 0.0, 1.0]]] * 17},  # over 16 polylines
    {"wall_mm": [[[0.0, 0.0]]]},  # a vertex without its width
    {"wall_mm": [[[0.0, 0.0, -1.0]]]},
    {"wall_mm": [[[2e9, 0.0, 1.0]]]},
    {"frame_px": [[["1", 0.0, 1.0]]]},
    {"mm": []},
])
def test_a_trace_out_of_bounds_is_refused(make_event, trace):
    from monitor.subscriber import InvalidPayload

    with pytest.raises(InvalidPayload) as err:
        parse_payload("crackbot/rb-01/events", json.dumps(make_event(schema_version=2, trace=trace)).encode(), "event")
    assert err.value.reason == "schema"
    with pytest.raises(InvalidPayload):
        parse_payload("crackbot/rb-01/events", json.dumps(make_event(schema_version=3)).encode(), "event")
