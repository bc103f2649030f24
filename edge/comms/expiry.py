"""Whether a command request is still fresh enough to apply.

A robot keeps a persistent session, so a request sent while it was off waits at the broker and arrives
when it starts, maybe days later. Under MQTT 5 the sender's message expiry makes the broker drop it;
MQTT 3.1.1 has no expiry, so the request carries `sent_at` (the sender's clock, epoch seconds) and may
carry `expiry_s`, and the robot decides here, against its own clock:

- age = robot's now - sent_at; the request is expired when age > min(expiry_s, max_age_s);
- a request more than max_skew_s in the future is refused too: the two clocks disagree, and its age
  cannot be known (a station clock behind the robot's only makes requests look older, which errs on
  the safe side);
- a request without sent_at (older senders, a Home Assistant button) is applied as before, unless
  require_sent_at is set.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

EXPIRED, FUTURE, INVALID = "expired", "future", "invalid"  # the `reason` of a refused request's answer


@dataclass(frozen=True)
class ExpiryRules:
    max_age_s: float = 60.0
    max_skew_s: float = 5.0
    require_sent_at: bool = False


def refusal(sent_at: Optional[float], expiry_s: Optional[float], now: float,
            rules: ExpiryRules) -> Optional[Tuple[str, str]]:
    """None when the request may be applied, else (reason, one-line message)."""
    if sent_at is None:
        if rules.require_sent_at:
            return INVALID, "request has no sent_at and this robot requires one (commands.require_sent_at)"
        return None
    age = now - sent_at
    if -age > rules.max_skew_s:
        return FUTURE, (f"sent_at is {-age:.1f} s ahead of the robot's clock, more than commands.max_skew_s "
                        f"{rules.max_skew_s:g} s: check the clocks")
    limit = rules.max_age_s if expiry_s is None else min(expiry_s, rules.max_age_s)
    if age > limit:
        return EXPIRED, f"expired: sent {age:.1f} s ago, its limit is {limit:g} s"
    return None
