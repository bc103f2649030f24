"""Command expiry: which requests are fresh enough to apply (edge/comms/expiry.py), as the handler answers them."""
from __future__ import annotations

import pytest

from edge.comms.commands import CommandError, CommandHandler, RobotControls, parse_request
from edge.comms.expiry import EXPIRED, FUTURE, INVALID, ExpiryRules, refusal
from edge.comms.schemas import validator

NOW = 1_700_000_000.0
RULES = ExpiryRules(max_age_s=60, max_skew_s=5)


@pytest.mark.parametrize("sent_at, expiry_s, verdict", [
    (None, None, None),  # an older sender: applied whatever its age
    (None, 1, None),  # expiry_s means nothing without sent_at
    (NOW, None, None),
    (NOW - 59, None, None),
    (NOW - 61, None, EXPIRED),  # the robot's max_age_s
    (NOW - 61, 600, EXPIRED),  # a request cannot outlive max_age_s by asking
    (NOW - 11, 10, EXPIRED),  # its own, shorter expiry
    (NOW - 9, 10, None),
    (NOW + 4, 10, None),  # a station clock a little ahead: within max_skew_s
    (NOW + 6, 10, FUTURE),
])
def test_expiry_decision(sent_at, expiry_s, verdict):
    result = refusal(sent_at, expiry_s, NOW, RULES)
    assert (result[0] if result else None) == verdict


def test_the_refusal_says_why_in_one_line():
    reason, message = refusal(NOW - 90, 30, NOW, RULES)
    assert (reason, message) == (EXPIRED, "expired: sent 90.0 s ago, its limit is 30 s")
    reason, message = refusal(NOW + 20, None, NOW, RULES)
    assert reason == FUTURE and "20.0 s ahead of the robot's clock" in message and "\n" not in message


def test_a_robot_may_require_sent_at():
    strict = ExpiryRules(require_sent_at=True)
    assert refusal(None, None, NOW, strict)[0] == INVALID
    assert refusal(NOW, None, NOW, strict) is None


def test_requests_carry_sent_at_and_expiry():
    request = parse_request("pause", b'{"request_id": "r", "sent_at": 1700000000.5, "expiry_s": 30}')
    assert (request.sent_at, request.expiry_s) == (1700000000.5, 30)
    for bad in (b'{"sent_at": "yesterday"}', b'{"sent_at": -1}', b'{"sent_at": 1, "expiry_s": 0}'):
        with pytest.raises(CommandError):
            parse_request("pause", bad)


class _Sink:
    """Stands in for the publisher: keeps what would be published."""

    def __init__(self):
        self.published = []

    def subscribe(self, suffix, handler):
        pass

    def publish_retained(self, suffix, payload):
        self.published.append((suffix, payload))


def test_a_stale_request_changes_nothing_and_the_answer_says_expired():
    controls, sink = RobotControls(0.5), _Sink()
    handler = CommandHandler(controls, sink, "rb-x", RULES, clock=lambda: NOW)
    answer = handler.handle("pause", b'{"request_id": "old", "sent_at": %f, "expiry_s": 30}' % (NOW - 3600))
    assert not controls.paused and (handler.accepted, handler.refused) == (0, 1)
    assert answer["accepted"] is False and answer["reason"] == "expired" and answer["request_id"] == "old"
    assert answer["paused"] is False and answer["error"].startswith("expired: sent 3600.0 s ago")
    assert sink.published == [("cmd/pause/state", answer)]
    assert list(validator("command_state").iter_errors(answer)) == []

    fresh = handler.handle("threshold", b'{"value": 0.7, "sent_at": %f}' % (NOW - 1))
    assert fresh["accepted"] and controls.threshold == 0.7 and "reason" not in fresh
    bad = handler.handle("threshold", b'{"value": 7}')
    assert bad["reason"] == "invalid"
