"""Registry receipts: when an event (or evidence JPEG) may leave the outbox.

With outbox.confirm `receipt` (the default) a row the broker acknowledged stays in the outbox until a
monitor's registry says it holds it, on <root>/<robot_id>/receipts; an acknowledged row with no receipt
after outbox.resend_after_s, and every one at a reconnect, is sent again. So a broker that dies before
its disk has the events (or before it delivered them) loses nothing: the robot still has them, and the
registry drops the copies by event_id (evidence by its sha256). With `puback` a row leaves at the
broker's acknowledgement, for deployments whose subscriber sends no receipts.

A receipt is input like any other: at most MAX_RECEIPT_BYTES, JSON without NaN, the receipt schema,
the topic's robot; a bad one is logged and counted, and ids this outbox does not hold are ignored.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import List, Tuple

from edge.comms.outbox import EVENT, EVIDENCE, KEPT, Outbox

log = logging.getLogger(__name__)

RECEIPT, PUBACK = "receipt", "puback"
MAX_RECEIPT_BYTES = 64 * 1024  # 256 event ids and 256 digests fit in under 60 KB


class InvalidReceipt(ValueError):
    """A receipt that is not one; the message says why in one line."""


def parse_receipt(payload: bytes, robot_id: str) -> Tuple[List[str], List[str]]:
    """(event ids, evidence sha256s) of a receipt addressed to robot_id; InvalidReceipt otherwise."""
    from edge.comms.schemas import validator

    if len(payload) > MAX_RECEIPT_BYTES:
        raise InvalidReceipt(f"receipt of {len(payload)} bytes is over the {MAX_RECEIPT_BYTES} byte limit")
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidReceipt(f"receipt is not JSON: {str(exc)[:120]}") from None
    try:
        error = next(iter(validator("receipt").iter_errors(data)), None)
    except RecursionError:
        raise InvalidReceipt("receipt nested too deeply") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InvalidReceipt(f"receipt schema: at {where}: {error.message[:120]}")
    if data["robot_id"] != robot_id:
        raise InvalidReceipt(f"receipt for robot {data['robot_id']!r}, not this robot {robot_id!r}")
    return data["events"], data["evidence"]


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class Confirmations:
    """Decides what an acknowledgement or a receipt does to the outbox; counts what it saw."""

    def __init__(self, outbox: Outbox, robot_id: str, mode: str = RECEIPT, resend_after_s: float = 30.0):
        if mode not in (RECEIPT, PUBACK):
            raise ValueError(f"outbox.confirm must be {RECEIPT} or {PUBACK}, got {mode!r}")
        self.outbox, self.robot_id, self.mode = outbox, robot_id, mode
        self.resend_after_s = float(resend_after_s)
        self.confirmed = 0  # events a receipt removed from the outbox
        self.evidence_confirmed = 0  # evidence JPEGs a receipt removed
        self.receipts = 0  # valid receipts taken
        self.invalid = 0  # receipts refused
        self.resent = 0  # rows sent again for want of a receipt
        self._last_receipt = time.monotonic()
        self._warned = False
        self._lock = threading.Lock()

    @property
    def by_receipt(self) -> bool:
        return self.mode == RECEIPT

    def delivered(self, row_id: int, kind: str) -> None:
        """The broker acknowledged a row: gone (puback, telemetry) or kept for its receipt."""
        if self.by_receipt and kind in KEPT:
            self.outbox.mark_delivered(row_id)
        else:
            self.outbox.ack(row_id)

    def on_receipt(self, topic: str, payload: bytes) -> None:
        """Handler of <root>/<robot_id>/receipts (paho's thread): never raises for a bad receipt."""
        try:
            events, evidence = parse_receipt(payload, self.robot_id)
        except InvalidReceipt as exc:
            with self._lock:
                self.invalid += 1
            log.warning("receipt on %s refused: %s", topic, exc)
            return
        gone = self.outbox.confirm(EVENT, events)  # an id we do not hold matches no row
        pictures = self.outbox.confirm(EVIDENCE, evidence)
        with self._lock:
            self.receipts += 1
            self.confirmed += gone
            self.evidence_confirmed += pictures
            self._last_receipt = time.monotonic()
            self._warned = False

    def due(self, limit: int) -> list:
        """Rows to send again now: acknowledged, unconfirmed for resend_after_s."""
        if not self.by_receipt or limit <= 0:
            return []
        rows = self.outbox.take_due(time.time() - self.resend_after_s, limit)
        if rows:
            with self._lock:
                self.resent += len(rows)
            self._warn_if_unheard()
        return rows

    def reconnected(self) -> None:
        """The broker may have restarted without its disk: every unconfirmed row goes again."""
        if self.by_receipt:
            self.outbox.all_due()

    def _warn_if_unheard(self) -> None:
        # Once per silence: a deployment whose subscriber sends no receipts needs outbox.confirm puback.
        with self._lock:
            silent = time.monotonic() - self._last_receipt
            if self._warned or silent < 3 * self.resend_after_s:
                return
            self._warned = True
        log.warning("no registry receipt for %.0f s; events are kept and sent again until a crackbot monitor "
                    "confirms them (with a subscriber that sends no receipts, set outbox.confirm: puback)", silent)
