"""Registry receipts on the robot's side: what an acknowledgement and a receipt do to the outbox."""
from __future__ import annotations

import hashlib
import json

import pytest

from edge.comms.outbox import EVENT, EVIDENCE, TELEMETRY, Outbox
from edge.comms.receipts import MAX_RECEIPT_BYTES, PUBACK, RECEIPT, Confirmations, InvalidReceipt, parse_receipt

ROBOT = "rb-r"
TOPIC = f"crackbot/{ROBOT}/receipts"


def _receipt(events=(), evidence=(), robot=ROBOT, **extra) -> bytes:
    return json.dumps({"schema_version": 2, "robot_id": robot, "ts": 1.0, "events": list(events),
                       "evidence": list(evidence), **extra}).encode()


def _event(event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "type": "new"}).encode()


@pytest.fixture
def box(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    yield outbox
    outbox.close()


def test_a_row_stays_after_the_ack_until_its_receipt(box):
    ids = [box.put("t/events", _event(f"e{i}")) for i in range(3)]
    jpeg = b"\xff\xd8 a picture"
    pic = box.put("t/evidence/c1", jpeg, kind=EVIDENCE)
    tel = box.put("t/telemetry", b"{}", qos=0, kind=TELEMETRY)
    conf = Confirmations(box, ROBOT, RECEIPT, resend_after_s=30)
    for row, kind in [(i, EVENT) for i in ids] + [(pic, EVIDENCE), (tel, TELEMETRY)]:
        conf.delivered(row, kind)
    assert box.count(EVENT) == 3 and box.count(EVIDENCE) == 1 and box.count(TELEMETRY) == 0
    assert box.unconfirmed() == 4
    conf.on_receipt(TOPIC, _receipt(["e0", "e2", "never-sent"], [hashlib.sha256(jpeg).hexdigest()]))
    assert [json.loads(p)["event_id"] for _, _, p, _, _ in box.pending()] == ["e1"]
    assert (conf.confirmed, conf.evidence_confirmed, conf.receipts) == (2, 1, 1)


def test_puback_mode_deletes_at_the_ack(box):
    row = box.put("t/events", _event("e0"))
    Confirmations(box, ROBOT, PUBACK).delivered(row, EVENT)
    assert len(box) == 0


def test_unconfirmed_rows_are_due_after_the_timeout_and_at_a_reconnect(box, monkeypatch):
    rows = [box.put("t/events", _event(f"e{i}")) for i in range(2)]
    conf = Confirmations(box, ROBOT, RECEIPT, resend_after_s=30)
    for row in rows:
        conf.delivered(row, EVENT)
    assert conf.due(10) == []  # acknowledged just now
    import edge.comms.receipts as receipts

    now = receipts.time.time()
    monkeypatch.setattr(receipts.time, "time", lambda: now + 31)
    assert [r[0] for r in conf.due(10)] == rows and conf.resent == 2
    assert conf.due(10) == []  # taken: in flight again until the next ack
    monkeypatch.undo()
    conf.delivered(rows[0], EVENT)
    conf.reconnected()
    assert [r[0] for r in conf.due(10)] == [rows[0]]


def test_a_new_process_sends_every_row_and_forgets_delivered(tmp_path):
    box = Outbox(tmp_path / "o.sqlite")
    Confirmations(box, ROBOT).delivered(box.put("t/events", _event("e0")), EVENT)
    box.close()
    box = Outbox(tmp_path / "o.sqlite")
    assert box.unconfirmed() == 0 and len(box.pending()) == 1  # sent by the cursor, not twice
    box.close()


@pytest.mark.parametrize("payload, why", [
    (b"x" * (MAX_RECEIPT_BYTES + 1), "over"),
    (b"\xff\xfe", "not JSON"),
    (b'{"events": [NaN]}', "not JSON"),
    (b"[" * 60_000, "JSON"),  # deeper than the parser goes
    (_receipt(["a"] * 2), "schema"),  # not unique
    (_receipt([f"e{i}" for i in range(257)]), "schema"),
    (_receipt([], ["not-a-digest"]), "schema"),
    (_receipt(["x" * 129]), "schema"),
    (_receipt(["e0"], extra=1), "schema"),
    (b'"a string"', "schema"),
    (_receipt(["e0"], robot="someone-else"), "not this robot"),
])
def test_hostile_receipts_are_refused_in_one_line_and_change_nothing(box, payload, why):
    with pytest.raises(InvalidReceipt, match=why):
        parse_receipt(payload, ROBOT)
    conf = Confirmations(box, ROBOT)
    conf.delivered(box.put("t/events", _event("e0")), EVENT)
    conf.on_receipt(TOPIC, payload)  # never raises
    assert conf.invalid == 1 and len(box) == 1


def test_the_mode_is_checked():
    with pytest.raises(ValueError, match="outbox.confirm"):
        Confirmations(None, ROBOT, "sometimes")
