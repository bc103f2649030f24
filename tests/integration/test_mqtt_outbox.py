"""The outbox bound and its policy (telemetry goes first, crack events never), and telemetry through the outbox."""
from __future__ import annotations

import sqlite3


from edge.config import MqttConfig
from edge.comms.outbox import EVENT, TELEMETRY, Outbox
from edge.comms.publisher import Publisher


def test_full_outbox_drops_oldest_telemetry_first(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", max_messages=10)
    for i in range(4):
        box.put("t/events", f"e{i}".encode(), kind=EVENT)
        box.put("t/telemetry", f"t{i}".encode(), qos=0, kind=TELEMETRY)
    box.put("t/events", b"e4", kind=EVENT)
    box.put("t/events", b"e5", kind=EVENT)  # 10 rows now: full
    box.put("t/events", b"e6", kind=EVENT)  # drops t0
    assert len(box) == 10 and box.dropped_telemetry == 1
    assert [r[2] for r in box.pending(limit=100) if r[4] == TELEMETRY] == [b"t1", b"t2", b"t3"]


def test_crack_events_are_never_dropped(tmp_path, caplog):
    box = Outbox(tmp_path / "o.sqlite", max_messages=10)
    box.put("t/telemetry", b"t", qos=0, kind=TELEMETRY)
    for i in range(15):
        box.put("t/events", f"e{i}".encode(), kind=EVENT)
    assert box.count(EVENT) == 15 and box.count(TELEMETRY) == 0  # over the bound, every event kept
    assert [r[2] for r in box.pending(limit=100)] == [f"e{i}".encode() for i in range(15)]
    assert sum("events are never dropped" in r.message for r in caplog.records) == 1  # said once, not per put


def test_an_outbox_from_before_telemetry_was_queued_opens(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
               "payload BLOB NOT NULL, qos INTEGER NOT NULL, created REAL NOT NULL)")
    db.execute("INSERT INTO outbox (topic, payload, qos, created) VALUES ('a/events', x'7b7d', 1, 0)")
    db.commit()
    db.close()
    box = Outbox(path)
    assert box.count(EVENT) == 1 and box.pending()[0][4] == EVENT


def test_telemetry_queued_while_offline_is_sent_after_the_events_before_it(tmp_path, mqtt_broker, mqtt_collector,
                                                                           make_event):
    watch = mqtt_collector(mqtt_broker, ("crackbot/rb-o/events", 1), ("crackbot/rb-o/telemetry", 0))
    # Queued before the publisher ever connects: a robot that starts in a tunnel.
    publisher = Publisher(MqttConfig(host=mqtt_broker.host, port=mqtt_broker.port, reconnect_min_s=0.2,
                                     reconnect_max_s=1), "rb-o", Outbox(tmp_path / "o.sqlite"))
    publisher.publish_event(make_event(robot_id="rb-o", crack_id="a"))
    publisher.publish_telemetry({"fps": 1.0})
    publisher.publish_event(make_event(robot_id="rb-o", crack_id="b"))
    publisher.start()
    try:
        assert publisher.drain(10)
        assert watch.wait_for(3, timeout=5)
        assert [(m.kind, m.qos) for m in watch.of()] == [("events", 1), ("telemetry", 0), ("events", 1)]
        assert publisher.acked == 2  # events only; telemetry is not counted as an acknowledged event
        assert len(publisher.outbox) == 0
    finally:
        publisher.stop()
