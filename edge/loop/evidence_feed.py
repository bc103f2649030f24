"""Evidence JPEGs over MQTT, for each new or updated crack the frame itself shows: the crack's crop is cut from
the frame with the event (a crop, not the whole frame, waits in the queue), and the JPEG is drawn and encoded
on the publishing thread once all the frame's events are in the outbox (`send_due`), so the encoding holds up
neither the next frame's inference nor the frame's other events, and a subscriber that has the picture has the
crack too."""
from __future__ import annotations

import logging
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple

from edge.comms.evidence_image import encode_cut, evidence_cut

log = logging.getLogger(__name__)


class EvidenceFeed:
    def __init__(self, max_kb: float, margin_px: int):
        self.max_bytes = int(max_kb * 1024)
        self.margin = margin_px
        self.sent = 0  # JPEGs handed to the sink (its outbox)
        self.dropped = 0  # crops over the cap even at the smallest size and lowest quality tried
        self.largest = 0  # bytes of the largest JPEG sent
        # event_id -> (crack_id, what makes its JPEG: bytes, or None when no crop fits the cap)
        self._waiting: Dict[str, Tuple[str, Callable[[], Optional[bytes]]]] = {}
        self._due: List[Tuple[str, Callable[[], Optional[bytes]]]] = []  # published events' JPEGs, in order

    def prepare(self, frame, ev, payload: dict) -> None:
        """Keep what the JPEG of one event's crack in `frame` needs; it is made when the event is published."""
        trace = (payload.get("trace") or {}).get("frame_px")
        cut = evidence_cut(frame.rgb, ev.track.last.bbox_px, frame.scale, trace, self.margin, frame.hires)
        make = partial(encode_cut, cut, self.max_bytes)
        self._waiting[payload["event_id"]] = (payload["crack_id"], make)

    def publish(self, sink, payload: dict) -> None:
        """Publish an event; its JPEG, when one is to be made for it, is sent by the next send_due()."""
        sink.publish_event(payload)
        item = self._waiting.pop(payload["event_id"], None)
        if item is not None:
            self._due.append(item)

    def send_due(self, sink) -> None:
        """Make and send the JPEGs of the events published since the last call, in their order."""
        while self._due:
            crack_id, make = self._due.pop(0)
            jpeg = make()
            if jpeg is None:
                self.dropped += 1
                log.warning("evidence of crack %s dropped: no crop of it fits evidence.mqtt_max_kb %.0f",
                            crack_id, self.max_bytes / 1024)
                continue
            try:
                sink.publish_evidence(crack_id, jpeg)
            except ValueError as exc:  # a crack id no topic level may hold (never the tracker's own)
                self.dropped += 1
                log.warning("evidence not sent: %s", exc)
                continue
            self.sent += 1
            self.largest = max(self.largest, len(jpeg))
