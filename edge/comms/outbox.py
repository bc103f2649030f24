"""A disk outbox: messages wait here until their delivery is confirmed.

SQLite in WAL mode survives a power cut; rows leave only through ack() (the broker's acknowledgement,
outbox.confirm puback) or confirm() (the registry's receipt, outbox.confirm receipt), so a crash or a lost
connection re-sends them (at least once: subscribers drop duplicates by event_id).

Each event and evidence row carries its receipt key (the event_id; the JPEG's sha256) and, once the
broker acknowledged it, when (`delivered`): a row delivered but unconfirmed is due again after a while
(due()) or at a reconnect (all_due()); a new process sends every row it holds, so it forgets `delivered`.

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

import hashlib
import json
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
        # (topic, payload, qos, created, kind, receipt key) waiting for the disk, in order
        self._unwritten: Deque[Tuple[str, bytes, int, float, str, Optional[str]]] = deque()
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
        if "receipt_key" not in columns:  # written before receipts: give its rows their keys
            self._db.execute("ALTER TABLE outbox ADD COLUMN receipt_key TEXT")
            self._db.execute("ALTER TABLE outbox ADD COLUMN delivered REAL")
            for row_id, payload, kind in self._db.execute("SELECT id, payload, kind FROM outbox").fetchall():
                self._db.execute("UPDATE outbox SET receipt_key = ? WHERE id = ?", (receipt_key(kind, payload), row_id))
        self._db.execute("CREATE INDEX IF NOT EXISTS outbox_by_receipt ON outbox (receipt_key)")
        self._db.execute("UPDATE outbox SET delivered = NULL")  # this process sends every row it finds

    def put(self, topic: str, payload: bytes, qos: int = 1, kind: str = EVENT) -> Optional[int]:
        """Queue one message; its row id, or None while the disk refuses it (it waits in memory)."""
        if kind not in KINDS:
            raise ValueError(f"outbox kind must be one of {KINDS}, got {kind!r}")
        key = receipt_key(kind, payload)
        with self._lock:
            self._unwritten.append((topic, payload, qos, time.time(), kind, key))
            return self._flush()

    def _flush(self) -> Optional[int]:
        """Write what waits in memory, oldest first; the last row id, or None when the disk refused."""
        last = None
        while self._unwritten:
            try:
                self._make_room()
                cur = self._db.execute("INSERT INTO outbox (topic, payload, qos, created, kind, receipt_key) "
                                       "VALUES (?, ?, ?, ?, ?, ?)",
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

    def mark_delivered(self, row_id: int) -> None:
        """The broker acknowledged the row; it stays until a receipt names it (outbox.confirm receipt)."""
        self._write("UPDATE outbox SET delivered = ? WHERE id = ?", (time.time(), row_id))

    def confirm(self, kind: str, keys) -> int:
        """Delete the rows of `kind` whose receipt keys a registry confirmed; how many went (unknown keys: none)."""
        keys = list(keys)
        if not keys:
            return 0
        marks = ",".join("?" * len(keys))
        with self._lock:
            try:
                return self._db.execute(f"DELETE FROM outbox WHERE kind = ? AND receipt_key IN ({marks})",
                                        (kind, *keys)).rowcount
            except sqlite3.Error as exc:  # they stay and go again: duplicates, not losses
                log.warning("outbox %s: cannot delete confirmed rows (%s)", self.path, exc)
                return 0

    def take_due(self, delivered_before: float, limit: int) -> List[Tuple[int, str, bytes, int, str]]:
        """Delivered rows no receipt confirmed since `delivered_before`, oldest first, marked as sent again."""
        with self._lock:
            rows = self._db.execute("SELECT id, topic, payload, qos, kind FROM outbox WHERE delivered IS NOT NULL "
                                    "AND delivered <= ? ORDER BY id LIMIT ?", (delivered_before, limit)).fetchall()
            for row in rows:
                self._db.execute("UPDATE outbox SET delivered = NULL WHERE id = ?", (row[0],))
        return rows

    def all_due(self) -> int:
        """Make every delivered, unconfirmed row due now (a reconnect: the broker may have lost them)."""
        with self._lock:
            return self._db.execute("UPDATE outbox SET delivered = 0 WHERE delivered IS NOT NULL").rowcount

    def unconfirmed(self) -> int:
        """Rows the broker acknowledged that no receipt has confirmed yet."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE delivered IS NOT NULL").fetchone()[0])

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error as exc:  # the row is sent again: a duplicate, not a loss
                log.warning("outbox %s: cannot update (%s)", self.path, exc)

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


def receipt_key(kind: str, payload: bytes) -> Optional[str]:
    """What a registry receipt names a row by: an event's event_id, an evidence JPEG's sha256 (hex)."""
    if kind == EVIDENCE:
        return hashlib.sha256(payload).hexdigest()
    if kind == EVENT:
        try:
            return str(json.loads(payload)["event_id"])
        except (ValueError, KeyError, TypeError):  # not ours to judge here; it is simply never confirmed
            return None
    return None
