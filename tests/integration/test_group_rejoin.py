"""A member that joins again while every member has already joined (its regex subscription
picked up or lost a topic, a topic gained partitions, a static member restarted with another
subscription, new metadata during CompletingRebalance) gets its new assignment at once, not
after the rebalance timeout (max.poll.interval.ms, 300 s by default, left at its default
here on purpose)."""

import io
import time

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewPartitions
from kafka.admin import KafkaAdminClient
from kafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from kafka_wire import Wire, array, i32, nbytes, string
from support import close_consumer, create_topic, wait_for

GROUP_SETTINGS = ("--set", "group.initial.rebalance.delay.ms=0",
                  "--set", "offsets.topic.num.partitions=3")
# Well below the 300 s rebalance timeout, with room for a slow machine.
PROMPT_S = 15


@pytest.fixture
def group_broker(make_broker):
    return make_broker(*GROUP_SETTINGS).start()


def consumer(broker, group, **extra):
    conf = {"bootstrap.servers": broker.bootstrap, "group.id": group,
            "partition.assignment.strategy": "cooperative-sticky",
            "topic.metadata.refresh.interval.ms": 500,
            "session.timeout.ms": 10000, "auto.offset.reset": "earliest"}
    conf.update(extra)
    return Consumer(conf)


def assigned(c):
    return sorted((tp.topic, tp.partition) for tp in c.assignment())


def poll_until(c, predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.poll(0.2)
        if predicate(assigned(c)):
            return time.monotonic()
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; assigned: {assigned(c)}")


def group_assignment(broker, group):
    """The group's state and its one member's assignment, as DescribeGroups reports them."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        info = admin.describe_consumer_groups([group])[0]
    finally:
        admin.close()
    parts = []
    for m in info.members:
        a = m.member_assignment  # kafka-python decodes it for consumer groups
        if isinstance(a, (bytes, bytearray)):
            a = ConsumerProtocolMemberAssignment.decode(io.BytesIO(a)) if a else None
        for topic, ps in (a.assignment if a else []):
            parts += [(topic, p) for p in ps]
    return info.state, sorted(parts)


def test_regex_subscription_picks_up_new_topic(group_broker):
    create_topic(group_broker.bootstrap, "rx-a")
    c = consumer(group_broker, "g-regex-new")
    try:
        c.subscribe(["^rx-.*"])
        poll_until(c, lambda a: a == [("rx-a", 0)], 30, "the first assignment")
        start = time.monotonic()
        create_topic(group_broker.bootstrap, "rx-b")
        poll_until(c, lambda a: a == [("rx-a", 0), ("rx-b", 0)], PROMPT_S, "rx-b to be assigned")
        assert time.monotonic() - start < PROMPT_S
    finally:
        c.close()


def test_regex_subscription_drops_deleted_topic(group_broker):
    create_topic(group_broker.bootstrap, "rd-a")
    create_topic(group_broker.bootstrap, "rd-b")
    c = consumer(group_broker, "g-regex-deleted")
    try:
        c.subscribe(["^rd-.*"])
        poll_until(c, lambda a: a == [("rd-a", 0), ("rd-b", 0)], 30, "the first assignment")
        a = AdminClient({"bootstrap.servers": group_broker.bootstrap})
        a.delete_topics(["rd-b"], operation_timeout=10)["rd-b"].result(timeout=20)
        # The client drops rd-b by itself; the group must also settle on an assignment
        # without it (before, it stayed in PreparingRebalance for the rebalance timeout).
        poll_until(c, lambda a: a == [("rd-a", 0)], PROMPT_S, "rd-b to be revoked")
        deadline = time.monotonic() + PROMPT_S
        while group_assignment(group_broker, "g-regex-deleted") != ("Stable", [("rd-a", 0)]):
            assert time.monotonic() < deadline, group_assignment(group_broker, "g-regex-deleted")
            c.poll(0.2)
    finally:
        close_consumer(c)


def test_added_partitions_are_assigned(group_broker):
    create_topic(group_broker.bootstrap, "grow")
    c = consumer(group_broker, "g-grow")
    try:
        c.subscribe(["grow"])
        poll_until(c, lambda a: a == [("grow", 0)], 30, "the first assignment")
        a = AdminClient({"bootstrap.servers": group_broker.bootstrap})
        a.create_partitions([NewPartitions("grow", 3)], operation_timeout=10)["grow"].result(20)
        poll_until(c, lambda a: a == [("grow", 0), ("grow", 1), ("grow", 2)], PROMPT_S,
                   "the new partitions to be assigned")
    finally:
        c.close()


def test_static_member_restarts_with_another_subscription(group_broker):
    create_topic(group_broker.bootstrap, "st-a")
    create_topic(group_broker.bootstrap, "st-b")
    first = consumer(group_broker, "g-static", **{"group.instance.id": "instance-1"})
    first.subscribe(["st-a"])
    poll_until(first, lambda a: a == [("st-a", 0)], 30, "the first assignment")
    first.close()  # a static member does not leave the group on close
    second = consumer(group_broker, "g-static", **{"group.instance.id": "instance-1"})
    try:
        second.subscribe(["st-a", "st-b"])
        poll_until(second, lambda a: a == [("st-a", 0), ("st-b", 0)], PROMPT_S,
                   "the restarted instance's new assignment")
    finally:
        second.close()


def join_group(wire, member_id, metadata, rebalance_ms=300000):
    """JoinGroup v5; returns (error, generation, member id, members)."""
    body = (string("g-raw") + i32(10000) + i32(rebalance_ms) + string(member_id) + string(None) +
            string("consumer") + array([("range", metadata)], lambda p: string(p[0]) + nbytes(p[1])))
    r = wire.call(11, 5, body)
    r.i32()  # throttle
    error, generation = r.i16(), r.i32()
    r.string()  # protocol
    r.string()  # leader
    member = r.string()
    members = r.array(lambda x: (x.string(), x.string(), x.bytes()))
    return error, generation, member, members


def test_new_metadata_during_completing_rebalance(group_broker):
    w = Wire(group_broker.bootstrap, timeout=PROMPT_S)
    try:
        # As a client does: the coordinator first (this creates __consumer_offsets).
        wait_for(lambda: w.call(10, 0, string("g-raw")).i16() == 0, what="the group coordinator")
        error, _, member, _ = join_group(w, "", b"\x00\x01")
        assert error == 79  # MEMBER_ID_REQUIRED
        error, generation, _, members = join_group(w, member, b"\x00\x01")
        assert (error, generation, len(members)) == (0, 1, 1)
        # No SyncGroup: the group is in CompletingRebalance; the member's metadata changes.
        error, generation, _, members = join_group(w, member, b"\x00\x02")
        assert (error, generation) == (0, 2)
        assert members[0][2] == b"\x00\x02"
    finally:
        w.close()

