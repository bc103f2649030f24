"""Evidence JPEGs over MQTT: made on the inference thread while the frame is at hand, for each new or updated
crack the frame itself shows, and handed to the sink right after their event, so a subscriber that has the
picture has the crack too."""
from __future__ import annotations

import logging
from typing import Dict, Tuple

from edge.comms.evidence_image import evidence_jpeg

log = logging.getLogger(__name__)


class EvidenceFeed:
    def __init__(self, max_kb: float, margin_px: int):
        self.max_bytes = int(max_kb * 1024)
        self.margin = margin_px
        self.sent = 0  # JPEGs handed to the sink (its outbox)
        self.dropped = 0  # crops over the cap even at the smallest size and lowest quality tried
        self.largest = 0  # bytes of the largest JPEG sent
        self._waiting: Dict[str, Tuple[str, bytes]] = {}  # event_id -> (crack_id, JPEG)

    def prepare(self, frame, ev, payload: dict) -> None:
        """Make the JPEG of one event's crack in `frame`; it waits for its event to be published."""
        trace = (payload.get("trace") or {}).get("frame_px")
        jpeg = evidence_jpeg(frame.rgb, ev.track.last.bbox_px, self.max_bytes, frame.scale, trace, self.margin,
                             frame.hires)
        if jpeg is None:
            self.dropped += 1
            log.warning("evidence of crack %s dropped: no crop of it fits evidence.mqtt_max_kb %.0f",
                        payload["crack_id"], self.max_bytes / 1024)
            return
        self._waiting[payload["event_id"]] = (payload["crack_id"], jpeg)

    def publish(self, sink, payload: dict) -> None:
        """Publish an event, then its JPEG when one was made for it."""
        sink.publish_event(payload)
        item = self._waiting.pop(payload["event_id"], None)
        if item is None:
            return
        try:
            sink.publish_evidence(*item)
        except ValueError as exc:  # a crack id no topic level may hold (never the tracker's own)
            self.dropped += 1
            log.warning("evidence not sent: %s", exc)
            return
        self.sent += 1
        self.largest = max(self.largest, len(item[1]))
