import pytest

from edge.comms import topics


def test_every_topic_the_robot_uses_reads_back_as_its_kind():
    for kind in (topics.EVENTS, topics.STATUS, topics.TELEMETRY, topics.POSE):
        assert topics.topic_kind(topics.robot_topic("site/a", "rb-1", kind), "site/a") == ("rb-1", kind)
    state = topics.robot_topic("crackbot", "rb-1", topics.command_state("pause"))
    assert state == "crackbot/rb-1/cmd/pause/state"
    assert topics.topic_kind(state, "crackbot") == ("rb-1", topics.COMMAND_STATE)
    assert topics.command_set("threshold") == "cmd/threshold/set"


@pytest.mark.parametrize("topic", ["other/rb-1/events", "crackbot/events", "crackbot//events",
                                   "crackbot/rb-1/cmd/pause/set", "crackbot/rb-1/a/b"])
def test_any_other_topic_is_refused(topic):
    with pytest.raises(ValueError, match="unexpected topic"):
        topics.topic_kind(topic, "crackbot")


def test_a_monitor_subscribes_to_what_a_robot_publishes():
    subs = dict(topics.monitor_subscriptions("crackbot", "+"))
    assert subs == {"crackbot/+/events": 1, "crackbot/+/status": 1, "crackbot/+/telemetry": 0,
                    "crackbot/+/cmd/+/state": 1, "crackbot/+/evidence/+": 1}


def test_evidence_topics_name_their_crack():
    topic = topics.robot_topic("crackbot", "rb-1", topics.evidence("rb-1-a1b2c3-0007"))
    assert topic == "crackbot/rb-1/evidence/rb-1-a1b2c3-0007"
    assert topics.topic_kind(topic, "crackbot") == ("rb-1", topics.EVIDENCE)
    assert topics.evidence_crack_id(topic) == "rb-1-a1b2c3-0007"
    for bad in ("a/b", "+", "#", "", "..", "x" * 129):
        with pytest.raises(ValueError):
            topics.evidence(bad)
