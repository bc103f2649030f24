"""Registry receipts on the monitor's side: batched per robot, bounded, evidence deduplicated by sha256."""
from __future__ import annotations

import hashlib
import json

from edge.comms.receipts import parse_receipt
from monitor.receipts import MAX_IDS, ReceiptSender, receipt_payloads
from monitor.registry import Registry


def test_receipts_are_split_to_fit_the_schema_and_the_robot_reads_them():
    events = [f"e{i}" for i in range(MAX_IDS * 2 + 1)]
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3)]
    payloads = receipt_payloads("rb", events, digests)
    assert len(payloads) == 3
    read = [parse_receipt(p, "rb") for p in payloads]
    assert sum((e for e, _ in read), []) == events and sum((d for _, d in read), []) == digests


def test_the_sender_batches_per_robot_and_once_per_id():
    sent = []
    sender = ReceiptSender(lambda topic, data: sent.append((topic, json.loads(data))), "root")
    for event_id in ("a", "b", "a"):
        sender.event("rb-1", event_id)
    sender.event("rb-2", "c")
    sender.evidence("rb-2", "0" * 64)
    sender.flush()
    by_topic = {topic: (data["events"], data["evidence"]) for topic, data in sent}
    assert by_topic == {"root/rb-1/receipts": (["a", "b"], []), "root/rb-2/receipts": (["c"], ["0" * 64])}
    sender.flush()
    assert len(sent) == 2 and sender.sent == 2


def test_a_re_sent_older_evidence_never_replaces_a_newer_one():
    registry = Registry()
    assert registry.add_evidence("rb", "c1", b"old")
    assert registry.add_evidence("rb", "c1", b"new")
    assert not registry.add_evidence("rb", "c1", b"old")  # the robot sent it again: no receipt reached it
    assert registry.evidence_jpeg("rb", "c1") == b"new"
