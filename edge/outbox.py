"""A disk outbox: messages wait here until the broker acknowledges them.

SQLite in WAL mode survives a power cut; rows leave only through ack(), so a crash or a lost
connection re-sends them (at least once: subscribers drop duplicates by event_id).

The outbox is bounded by `max_messages`, with one policy: when it is full, the oldest telemetry
rows are dropped to make room; crack events are never dropped. If only events are left, the
outbox grows past its bound (and says so in the log): a full disk is a smaller failure than a
lost crack.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import List, Tuple

log = logging.getLogger(__name__)

EVENT, TELEMETRY = "event", "telemetry"
KINDS = (EVENT, TELEMETRY)


class Outbox:
    def __init__(self, path, max_messages: int = 100_000):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_messages = int(max_messages)
        self.dropped_telemetry = 0  # telemetry rows dropped by the bound, this process
        self._over_bound_warned = False
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an event acknowledged to the pipeline is on disk
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
            "payload BLOB NOT NULL, qos INTEGER NOT NULL, created REAL NOT NULL, "
            "kind TEXT NOT NULL DEFAULT 'event')"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "kind" not in columns:  # an outbox written before telemetry was queued: every row is an event
            self._db.execute("ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event'")

    def put(self, topic: str, payload: bytes, qos: int = 1, kind: str = EVENT) -> int:
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, got {kind!r}")
        with self._lock:
            self._make_room()
            cur = self._db.execute("INSERT INTO outbox (topic, payload, qos, created, kind) VALUES (?, ?, ?, ?, ?)",
                                   (topic, payload, qos, time.time(), kind))
            return int(cur.lastrowid)

    def _make_room(self) -> None:
        """Apply the bound before a put: drop the oldest telemetry, never an event."""
        count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        excess = count + 1 - self.max_messages
        if excess <= 0:
            self._over_bound_warned = False
            return
        cur = self._db.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE kind = ? "
                               "ORDER BY id LIMIT ?)", (TELEMETRY, excess))
        self.dropped_telemetry += cur.rowcount
        if cur.rowcount < excess and not self._over_bound_warned:
            log.warning("outbox is over its bound of %d messages with crack events only; "
                        "events are never dropped, so it keeps growing until the broker is back",
                        self.max_messages)
            self._over_bound_warned = True

    def pending(self, after_id: int = 0, limit: int = 50) -> List[Tuple[int, str, bytes, int, str]]:
        """(id, topic, payload, qos, kind) rows in the order they were put, oldest first."""
        with self._lock:
            return self._db.execute("SELECT id, topic, payload, qos, kind FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                                    (after_id, limit)).fetchall()

    def ack(self, row_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def count(self, kind: str | None = None) -> int:
        """Rows waiting, of one kind or all."""
        with self._lock:
            if kind is None:
                return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def close(self) -> None:
        with self._lock:
            self._db.close()
