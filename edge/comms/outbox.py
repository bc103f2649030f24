"""A disk outbox: messages wait here until the broker acknowledges them.

SQLite in WAL mode survives a power cut; rows leave only through ack(), so a crash or a lost
connection re-sends them (at least once: subscribers drop duplicates by event_id).

The outbox is bounded by `max_messages`, with one policy: when it is full, the oldest telemetry
rows are dropped to make room; crack events and evidence JPEGs are never dropped. If only events are left, the
outbox grows past its bound (and says so in the log): a full disk is a smaller failure than a
lost crack.

A disk that cannot be written (read-only, full) is an OutboxError at start. While running, a
message that cannot be written is kept in memory, in order, and written again before anything else
at every put and every look at the queue, so it leaves as soon as the disk takes it; what is still
in memory at close is logged as lost, never dropped silently.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Deque, List, Optional, Tuple

from edge.errors import OutboxError

log = logging.getLogger(__name__)

EVENT, TELEMETRY, EVIDENCE = "event", "telemetry", "evidence"
KINDS = (EVENT, TELEMETRY, EVIDENCE)
KEPT = (EVENT, EVIDENCE)  # kinds that leave only when acknowledged: never dropped, kept when refused


class Outbox:
    def __init__(self, path, max_messages: int = 100_000):
        path = Path(path)
        self.path = path
        self.max_messages = int(max_messages)
        self.dropped_telemetry = 0  # telemetry rows dropped by the bound, this process
        self.write_failures = 0  # puts the disk refused (each message is kept and retried)
        self._unwritten: Deque[Tuple[str, bytes, int, float, str]] = deque()  # waiting for the disk, in order
        self._over_bound_warned = False
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open(path)
            self._db.execute("BEGIN IMMEDIATE")  # proves the file is writable now, not at the first event
            self._db.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"outbox.path {path}: cannot open for writing ({exc})") from None

    def _open(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an event acknowledged to the pipeline is on disk
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
            "payload BLOB NOT NULL, qos INTEGER NOT NULL, created REAL NOT NULL, "
            "kind TEXT NOT NULL DEFAULT 'event')"
        )
        # The newest event of every crack this robot announced and has not ended: what a killed run
        # leaves here is ended on the next start (edge/loop/runner.py), so no crack stays open for ever.
        self._db.execute("CREATE TABLE IF NOT EXISTS open_cracks (crack_id TEXT PRIMARY KEY, payload BLOB NOT NULL)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "kind" not in columns:  # an outbox written before telemetry was queued: every row is an event
            self._db.execute("ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event'")

    def put(self, topic: str, payload: bytes, qos: int = 1, kind: str = EVENT) -> Optional[int]:
        """Queue one message; its row id, or None while the disk refuses it (it waits in memory)."""
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, got {kind!r}")
        with self._lock:
            self._unwritten.append((topic, payload, qos, time.time(), kind))
            return self._flush()

    def _flush(self) -> Optional[int]:
        """Write what waits in memory, oldest first; the last row id, or None when the disk refused."""
        last = None
        while self._unwritten:
            try:
                self._make_room()
                cur = self._db.execute("INSERT INTO outbox (topic, payload, qos, created, kind) VALUES (?, ?, ?, ?, ?)",
                                       self._unwritten[0])
            except sqlite3.Error as exc:  # read-only, disk full, I/O error
                self.write_failures += 1
                if self.write_failures == 1 or len(self._unwritten) == 1:
                    log.error("outbox %s: cannot write (%s); %d message(s) kept in memory and retried",
                              self.path, exc, len(self._unwritten))
                return None
            self._unwritten.popleft()
            last = int(cur.lastrowid)
        return last

    @property
    def unwritten(self) -> int:
        """Messages waiting in memory for the disk."""
        with self._lock:
            return len(self._unwritten)

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
            self._flush()  # the pump looks here every half second: the retry of what the disk refused
            return self._db.execute("SELECT id, topic, payload, qos, kind FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                                    (after_id, limit)).fetchall()

    def ack(self, row_id: int) -> None:
        with self._lock:
            try:
                self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            except sqlite3.Error as exc:  # the row stays and goes again next start: a duplicate, not a loss
                log.warning("outbox %s: cannot delete acknowledged row %d (%s)", self.path, row_id, exc)

    def track_open(self, crack_id: str, payload: Optional[bytes]) -> None:
        """Remember the newest event of an open crack (payload), or forget an ended one (None)."""
        with self._lock:
            try:
                if payload is None:
                    self._db.execute("DELETE FROM open_cracks WHERE crack_id = ?", (crack_id,))
                else:
                    self._db.execute("INSERT OR REPLACE INTO open_cracks (crack_id, payload) VALUES (?, ?)",
                                     (crack_id, payload))
            except sqlite3.Error as exc:  # best effort: the events themselves are what must not be lost
                log.warning("outbox %s: cannot record open crack %s (%s)", self.path, crack_id, exc)

    def take_open(self) -> List[bytes]:
        """The open cracks' newest events left by an earlier run, oldest first, and forget them."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM open_cracks ORDER BY rowid").fetchall()
            self._db.execute("DELETE FROM open_cracks")
        return [row[0] for row in rows]

    def count(self, kind: str | None = None) -> int:
        """Rows waiting, of one kind or all."""
        with self._lock:
            waiting = sum(1 for row in self._unwritten if kind is None or row[4] == kind)
            if kind is None:
                return waiting + int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            return waiting + int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def close(self) -> None:
        with self._lock:
            self._flush()
            for kind in KEPT:
                lost = sum(1 for row in self._unwritten if row[4] == kind)
                if lost:
                    log.error("outbox %s: %d %s(s) never reached the disk and are lost with this process",
                              self.path, lost, kind)
            self._db.close()
