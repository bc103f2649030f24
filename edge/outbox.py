"""A disk outbox: crack events wait here until the broker acknowledges them.

SQLite in WAL mode survives a power cut; rows leave only through ack(), so a crash or a lost
connection re-sends them (at least once: subscribers drop duplicates by event_id).
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import List, Tuple


class Outbox:
    def __init__(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an event acknowledged to the pipeline is on disk
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
            "payload BLOB NOT NULL, qos INTEGER NOT NULL, created REAL NOT NULL)"
        )

    def put(self, topic: str, payload: bytes, qos: int = 1) -> int:
        with self._lock:
            cur = self._db.execute("INSERT INTO outbox (topic, payload, qos, created) VALUES (?, ?, ?, ?)",
                                   (topic, payload, qos, time.time()))
            return int(cur.lastrowid)

    def pending(self, after_id: int = 0, limit: int = 50) -> List[Tuple[int, str, bytes, int]]:
        """Rows in the order they were put, oldest first."""
        with self._lock:
            return self._db.execute("SELECT id, topic, payload, qos FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                                    (after_id, limit)).fetchall()

    def ack(self, row_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
