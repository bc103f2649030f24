"""The crack registry: SQLite (WAL) tables of robots, events (deduplicated by event_id) and cracks.

One row per physical crack (robot_id + crack_id). Events may arrive twice (QoS 1 is at least once)
and out of order (the robot's outbox re-sends after a reconnect), so:
  * an event_id seen before changes nothing;
  * measurements come from the event with the highest seq, and a null measurement never erases a
    known one (a later event may lack the segmenter's numbers);
  * an `end` is final: a late `update` does not bring the crack back to life.
Payloads are expected to be schema-valid already (the subscriber validates them).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Optional

from monitor import MonitorError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS robots (
    robot_id   TEXT PRIMARY KEY,
    state      TEXT,            -- online / stopped / offline, from the status topic
    state_ts   REAL,            -- when the robot set that state
    last_seen  REAL             -- when we last heard anything from it (our clock)
);
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    robot_id    TEXT NOT NULL,
    crack_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    ts          REAL NOT NULL,
    received_at REAL NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_crack ON events (robot_id, crack_id, seq);
CREATE TABLE IF NOT EXISTS cracks (
    robot_id          TEXT NOT NULL,
    crack_id          TEXT NOT NULL,
    first_ts          REAL NOT NULL,
    last_ts           REAL NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('new', 'updated', 'ended')),
    last_seq          INTEGER NOT NULL,
    wall_x0 REAL, wall_y0 REAL, wall_x1 REAL, wall_y1 REAL,
    center_x_mm REAL, center_y_mm REAL,
    frame_index INTEGER,
    frame_x0 REAL, frame_y0 REAL, frame_x1 REAL, frame_y1 REAL,
    frame_width INTEGER, frame_height INTEGER,
    confidence        REAL,
    length_mm         REAL,
    width_max_mm      REAL,
    width_mean_mm     REAL,
    orientation_deg   REAL,
    severity_scale    TEXT,
    severity_category INTEGER,
    severity_label    TEXT,
    model_name        TEXT,
    model_sha256      TEXT,
    n_events          INTEGER NOT NULL,
    wall_id           TEXT,     -- which wall (optional in events); one map per wall
    evidence          TEXT,     -- URL or robot path of the newest evidence crop
    width_p95_mm      REAL,
    merged_into       TEXT,     -- set when the robot found this crack to be part of another one
    trace_mm          TEXT,     -- JSON: the newest centreline polylines on the wall, [x, y, width] mm
    PRIMARY KEY (robot_id, crack_id)
);
CREATE TABLE IF NOT EXISTS evidence_seen (  -- sha256 of every evidence JPEG taken: a re-sent old one changes nothing
    robot_id    TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    PRIMARY KEY (robot_id, sha256)
);
CREATE TABLE IF NOT EXISTS evidence (  -- the newest evidence JPEG of each crack, received over MQTT
    robot_id    TEXT NOT NULL,
    crack_id    TEXT NOT NULL,
    received_at REAL NOT NULL,
    jpeg        BLOB NOT NULL,
    PRIMARY KEY (robot_id, crack_id)
);
"""

_STATE_OF_TYPE = {"new": "new", "update": "updated", "end": "ended"}
# Measurements that only ever improve: a null in a newer event keeps the old value.
_KEEP_IF_NULL = ("wall_x0", "wall_y0", "wall_x1", "wall_y1", "center_x_mm", "center_y_mm",
                 "length_mm", "width_max_mm", "width_mean_mm", "orientation_deg",
                 "severity_category", "severity_label", "wall_id", "evidence", "width_p95_mm", "merged_into",
                 "trace_mm")
# Columns added after the first release: an older registry file gets them on open.
_ADDED_COLUMNS = {"wall_id": "TEXT", "evidence": "TEXT", "width_p95_mm": "REAL", "merged_into": "TEXT",
                  "trace_mm": "TEXT"}
# Always taken from the newest event (they are never null in a valid event).
_TAKE_NEWEST = ("frame_index", "frame_x0", "frame_y0", "frame_x1", "frame_y1", "frame_width",
                "frame_height", "confidence", "severity_scale", "model_name", "model_sha256")


def _crack_columns(p: dict[str, Any]) -> dict[str, Any]:
    """The measurement columns of one event payload."""
    wall = p.get("wall") or {}
    bbox = wall.get("bbox_mm") or [None] * 4
    centre = wall.get("center_mm")
    if centre is None and wall.get("bbox_mm"):
        centre = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2]
    centre = centre or [None, None]
    frame = p.get("frame") or {}
    fbox = frame.get("bbox_px") or [None] * 4
    sev = p.get("severity") or {}
    model = p.get("model") or {}
    trace = (p.get("trace") or {}).get("wall_mm")
    return {
        "wall_x0": bbox[0], "wall_y0": bbox[1], "wall_x1": bbox[2], "wall_y1": bbox[3],
        "center_x_mm": centre[0], "center_y_mm": centre[1],
        "frame_index": frame.get("index"),
        "frame_x0": fbox[0], "frame_y0": fbox[1], "frame_x1": fbox[2], "frame_y1": fbox[3],
        "frame_width": frame.get("width"), "frame_height": frame.get("height"),
        "confidence": p.get("confidence"),
        "length_mm": p.get("length_mm"), "width_max_mm": p.get("width_max_mm"),
        "width_mean_mm": p.get("width_mean_mm"), "orientation_deg": p.get("orientation_deg"),
        "severity_scale": sev.get("scale"), "severity_category": sev.get("category"),
        "severity_label": sev.get("label"),
        "model_name": model.get("name"), "model_sha256": model.get("sha256"),
        "wall_id": wall.get("id"), "evidence": p.get("evidence"), "width_p95_mm": p.get("width_p95_mm"),
        "merged_into": p.get("merged_into"),
        "trace_mm": json.dumps(trace, separators=(",", ":"), allow_nan=False) if trace else None,
    }


def _box(*values) -> list[float] | None:
    return None if any(v is None for v in values) else list(values)


def _crack_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A cracks row as the plain dict that the map, the CLI and reports use."""
    r = dict(row)
    return {
        "robot_id": r["robot_id"], "crack_id": r["crack_id"], "state": r["state"],
        "first_ts": r["first_ts"], "last_ts": r["last_ts"], "last_seq": r["last_seq"],
        "n_events": r["n_events"],
        "wall_bbox_mm": _box(r["wall_x0"], r["wall_y0"], r["wall_x1"], r["wall_y1"]),
        "center_mm": _box(r["center_x_mm"], r["center_y_mm"]),
        "frame_index": r["frame_index"],
        "frame_bbox_px": _box(r["frame_x0"], r["frame_y0"], r["frame_x1"], r["frame_y1"]),
        "frame_size_px": _box(r["frame_width"], r["frame_height"]),
        "confidence": r["confidence"],
        "length_mm": r["length_mm"], "width_max_mm": r["width_max_mm"],
        "width_mean_mm": r["width_mean_mm"], "orientation_deg": r["orientation_deg"],
        "severity_scale": r["severity_scale"], "severity_category": r["severity_category"],
        "severity_label": r["severity_label"],
        "model_name": r["model_name"], "model_sha256": r["model_sha256"],
        "wall_id": r["wall_id"], "evidence": r["evidence"], "width_p95_mm": r["width_p95_mm"],
        "merged_into": r["merged_into"],
        "trace_mm": json.loads(r["trace_mm"]) if r["trace_mm"] else None,
    }


class Registry:
    """The crack registry in one SQLite file (":memory:" for a throw-away one).

    Safe to share between threads: every call takes one lock (paho calls back on its own thread).
    """

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).resolve().parent
            if not parent.is_dir():
                raise MonitorError(f"registry folder does not exist: {parent}")
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                # WAL: readers (a report script) never block the subscriber's writes.
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")  # a receipt to the robot promises the event is on disk
            self._db.executescript(_SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(cracks)")}
            for name, sql_type in _ADDED_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE cracks ADD COLUMN {name} {sql_type}")
        except sqlite3.Error as exc:
            raise MonitorError(f"cannot open registry {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------------
    def add_event(self, payload: dict[str, Any], received_at: float | None = None) -> bool:
        """Store one schema-valid event and fold it into its crack. False (and no change) for a duplicate event_id."""
        received_at = time.time() if received_at is None else received_at
        robot, crack = payload["robot_id"], payload["crack_id"]
        seq, ts = int(payload["seq"]), float(payload["ts"])
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT OR IGNORE INTO events (event_id, robot_id, crack_id, type, seq, ts, received_at, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (payload["event_id"], robot, crack, payload["type"], seq, ts, received_at,
                 json.dumps(payload, separators=(",", ":"), allow_nan=False)))
            if cur.rowcount == 0:
                return False
            self._fold(payload, robot, crack, seq, ts)
            self._touch_robot(robot, received_at)
            return True

    def _fold(self, payload: dict[str, Any], robot: str, crack: str, seq: int, ts: float) -> None:
        cols = _crack_columns(payload)
        state = _STATE_OF_TYPE[payload["type"]]
        old = self._db.execute("SELECT * FROM cracks WHERE robot_id = ? AND crack_id = ?",
                               (robot, crack)).fetchone()
        if old is None:
            names = ["robot_id", "crack_id", "first_ts", "last_ts", "state", "last_seq", "n_events", *cols]
            values = [robot, crack, ts, ts, state, seq, 1, *cols.values()]
            self._db.execute(f"INSERT INTO cracks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                             values)
            return
        old = dict(old)
        newest = seq >= old["last_seq"]
        merged: dict[str, Any] = {}
        for name in _KEEP_IF_NULL:
            first, second = (cols[name], old[name]) if newest else (old[name], cols[name])
            merged[name] = first if first is not None else second
        for name in _TAKE_NEWEST:
            merged[name] = cols[name] if newest else old[name]
        if old["state"] == "ended" or state == "ended":
            merged["state"] = "ended"
        elif newest:
            merged["state"] = state
        else:
            merged["state"] = old["state"]
        merged.update(first_ts=min(ts, old["first_ts"]), last_ts=max(ts, old["last_ts"]),
                      last_seq=max(seq, old["last_seq"]), n_events=old["n_events"] + 1)
        self._db.execute(f"UPDATE cracks SET {', '.join(f'{k} = ?' for k in merged)}"
                         " WHERE robot_id = ? AND crack_id = ?", [*merged.values(), robot, crack])

    def _touch_robot(self, robot: str, when: float) -> None:
        self._db.execute("INSERT INTO robots (robot_id, last_seen) VALUES (?, ?) ON CONFLICT (robot_id)"
                         " DO UPDATE SET last_seen = max(coalesce(last_seen, 0), excluded.last_seen)",
                         (robot, when))

    def set_status(self, robot_id: str, state: str, ts: float, received_at: float | None = None) -> None:
        """Record a robot's status (online / stopped / offline) as of ts; an older ts never overwrites a newer one."""
        received_at = time.time() if received_at is None else received_at
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO robots (robot_id, state, state_ts, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (robot_id) DO UPDATE SET"
                "  state = CASE WHEN state_ts IS NULL OR excluded.state_ts >= state_ts THEN excluded.state "
                "ELSE state END,"
                "  state_ts = max(coalesce(state_ts, excluded.state_ts), excluded.state_ts),"
                "  last_seen = max(coalesce(last_seen, 0), excluded.last_seen)",
                (robot_id, state, float(ts), received_at),
            )

    def add_evidence(self, robot_id: str, crack_id: str, jpeg: bytes, received_at: float | None = None) -> bool:
        """Keep a crack's evidence JPEG (checked by monitor/evidence.py): it replaces the one before. False (and no
        change) for a JPEG seen before (by sha256), so a re-sent older one never replaces a newer one."""
        received_at = time.time() if received_at is None else received_at
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if not self._db.execute("INSERT OR IGNORE INTO evidence_seen (robot_id, sha256) VALUES (?, ?)",
                                    (robot_id, hashlib.sha256(jpeg).hexdigest())).rowcount:
                return False
            self._db.execute("INSERT OR REPLACE INTO evidence (robot_id, crack_id, received_at, jpeg)"
                             " VALUES (?, ?, ?, ?)", (robot_id, crack_id, received_at, sqlite3.Binary(jpeg)))
            self._touch_robot(robot_id, received_at)
            return True

    # -- reads ---------------------------------------------------------------------------------
    def evidence_jpeg(self, robot_id: str, crack_id: str) -> Optional[bytes]:
        """The newest evidence JPEG of a crack received over MQTT, or None."""
        with self._lock:
            row = self._db.execute("SELECT jpeg FROM evidence WHERE robot_id = ? AND crack_id = ?",
                                   (robot_id, crack_id)).fetchone()
        return bytes(row["jpeg"]) if row else None

    def evidence_count(self, robot_id: str | None = None) -> int:
        """Cracks with an evidence JPEG (of one robot when given)."""
        where, args = ("", ()) if robot_id is None else (" WHERE robot_id = ?", (robot_id,))
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM evidence" + where, args).fetchone()[0])

    def has_event(self, event_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def crack(self, robot_id: str, crack_id: str) -> dict[str, Any] | None:
        """One crack, or None when it was never seen."""
        with self._lock:
            row = self._db.execute("SELECT * FROM cracks WHERE robot_id = ? AND crack_id = ?",
                                   (robot_id, crack_id)).fetchone()
        return _crack_dict(row) if row else None

    def cracks(self, robot_id: str | None = None, merged: bool = False) -> list[dict[str, Any]]:
        """Every crack (of one robot when given), oldest first; merged=True also lists the cracks the
        robot found to be parts of others (merged_into), which maps and reports leave out."""
        where, args = [] if merged else ["merged_into IS NULL"], ()
        if robot_id is not None:
            where, args = where + ["robot_id = ?"], (robot_id,)
        sql = "SELECT * FROM cracks" + (f" WHERE {' AND '.join(where)}" if where else "")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY first_ts, robot_id, crack_id", args).fetchall()
        return [_crack_dict(r) for r in rows]

    def events(self, robot_id: str | None = None, crack_id: str | None = None) -> list[dict[str, Any]]:
        """Stored event payloads, in capture order."""
        where, args = [], []
        for col, val in (("robot_id", robot_id), ("crack_id", crack_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = "SELECT payload FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY ts, seq", args).fetchall()
        return [json.loads(r["payload"]) for r in rows]

    def robots(self) -> list[dict[str, Any]]:
        """Every robot heard of: robot_id, state, state_ts, last_seen."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM robots ORDER BY robot_id").fetchall()
        return [dict(r) for r in rows]

    def counts(self, robot_id: str | None = None) -> dict[str, Any]:
        """Totals in the registry: robots, events, cracks, events_by_type, cracks_by_state, and
        cracks_merged (parts of other cracks, counted in neither cracks nor cracks_by_state)."""
        where, args = ("", ()) if robot_id is None else (" WHERE robot_id = ?", (robot_id,))
        own = (" AND" if where else " WHERE") + " merged_into IS NULL"
        parts = (" AND" if where else " WHERE") + " merged_into IS NOT NULL"
        with self._lock:
            q = self._db.execute
            robots = q("SELECT count(*) FROM robots" + where, args).fetchone()[0]
            by_type = dict(q("SELECT type, count(*) FROM events" + where + " GROUP BY type", args).fetchall())
            by_state = dict(q("SELECT state, count(*) FROM cracks" + where + own + " GROUP BY state", args).fetchall())
            merged = q("SELECT count(*) FROM cracks" + where + parts, args).fetchone()[0]
        return {
            "robots": robots,
            "events": sum(by_type.values()),
            "cracks": sum(by_state.values()),
            "events_by_type": {t: by_type.get(t, 0) for t in ("new", "update", "end")},
            "cracks_by_state": {s: by_state.get(s, 0) for s in ("new", "updated", "ended")},
            "cracks_merged": merged,
        }
