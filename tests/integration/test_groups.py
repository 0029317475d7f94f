"""Consumer groups against real clients: balanced assignments, rebalances on join, leave and
crash, cooperative-sticky incremental rebalances, static membership, at-least-once delivery
through kills, and committed offsets across broker restarts (clean and kill -9)."""

import json
import os
import signal
import subprocess
import threading

import shutil

import pytest

from support import create_topic, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
NODE = shutil.which("node")
KAFKAJS = os.path.join(HERE, "js", "node_modules", "kafkajs")
# Short timeouts keep the tests quick; the broker must accept them.
GROUP_SETTINGS = ("--set", "group.initial.rebalance.delay.ms=0",
                  "--set", "group.min.session.timeout.ms=500",
                  "--set", "offsets.topic.num.partitions=5")
SESSION_MS = 2000


class Worker:
    """A group_worker.py process and what it has reported."""

    def __init__(self, client, bootstrap, group, topic, *extra):
        if client == "kafkajs":
            args = [NODE, os.path.join(HERE, "js", "group_worker.js"), bootstrap, group, topic,
                    str(SESSION_MS)]
        else:
            args = [PYTHON, os.path.join(HERE, "group_worker.py"), client, bootstrap, group,
                    topic, "--session-ms", str(SESSION_MS), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.lock = threading.Lock()
        self.assignment = None  # None until the first assignment
        self.assignments = []   # every assignment reported, in order
        self.revocations = []
        self.records = []
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                if e["event"] == "assigned":
                    self.assignment = set(e["partitions"])
                    self.assignments.append(set(e["partitions"]))
                elif e["event"] == "revoked":
                    self.revocations.append(set(e["partitions"]))
                    if self.assignment is not None:
                        self.assignment -= set(e["partitions"])
                elif e["event"] == "record":
                    self.records.append((e["partition"], e["offset"], e["value"]))
                elif e["event"] == "closed":
                    self.closed = True

    def owned(self):
        with self.lock:
            return set(self.assignment or ())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=5)


@pytest.fixture
def workers():
    started = []
    yield started
    for w in started:
        w.stop()


def balanced(members, partitions):
    """Every partition owned by exactly one live member, and no member owns two more than another."""
    owned = [w.owned() for w in members]
    union = set().union(*owned)
    disjoint = sum(len(o) for o in owned) == len(union)
    sizes = [len(o) for o in owned]
    return union == set(range(partitions)) and disjoint and max(sizes) - min(sizes) <= 1


def wait_balanced(members, partitions, timeout, what):
    wait_for(lambda: balanced(members, partitions), timeout=timeout, what=what, interval=0.05)


def produce(bootstrap, topic, count, partitions):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        p.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert p.flush(30) == 0


def committed(bootstrap, group, topic, partitions):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "kafkajs"])
def test_members_join_leave_and_crash(make_broker, workers, client):
    if client == "kafkajs" and (NODE is None or not os.path.isdir(KAFKAJS)):
        pytest.skip("node or kafkajs missing: run scripts/install-deps")
    broker = make_broker(*GROUP_SETTINGS).start()
    topic, group = "orders", f"group-{client}"
    create_topic(broker.bootstrap, topic, 6)

    def start():
        w = Worker(client, broker.bootstrap, group, topic)
        workers.append(w)
        return w

    members = [start() for _ in range(3)]
    # The rebalance completes within the session and rebalance timeouts (plus start-up).
    limit = 30
    wait_balanced(members, 6, limit, "three members to split six partitions")
    assert all(len(w.owned()) == 2 for w in members)

    members.append(start())
    wait_balanced(members, 6, limit, "a fourth member to get its share")

    leaving = members.pop(0)
    leaving.stop()  # a clean close sends LeaveGroup
    wait_balanced(members, 6, limit, "the others to take over after a member left")

    crashed = members.pop(0)
    crashed.kill()  # no LeaveGroup: the session must time out
    wait_balanced(members, 6, limit, "the partitions of a killed member to move")


def test_cooperative_sticky_rebalances_incrementally(make_broker, workers):
    broker = make_broker(*GROUP_SETTINGS).start()
    topic, group = "sticky", "group-coop"
    create_topic(broker.bootstrap, topic, 6)

    def start():
        w = Worker("confluent", broker.bootstrap, group, topic, "--strategy", "cooperative-sticky")
        workers.append(w)
        return w

    a, b = start(), start()
    wait_balanced([a, b], 6, 30, "two cooperative members to split six partitions")
    before = {id(w): w.owned() for w in (a, b)}
    seen = {id(w): len(w.revocations) for w in (a, b)}
    c = start()
    wait_balanced([a, b, c], 6, 30, "the third cooperative member to get its share")
    for w in (a, b):
        # Incremental: each old member gave up only what moved and kept the rest throughout.
        with w.lock:
            later = w.revocations[seen[id(w)]:]
        assert all(r <= before[id(w)] for r in later)
        revoked = set().union(*later) if later else set()
        assert revoked != before[id(w)], "a cooperative member lost its whole assignment"
        assert w.owned() <= before[id(w)]
    assert c.owned()


# cooperative-sticky: the restarted member's subscription no longer lists the partitions and
# generation it owned, which must not count as a new subscription.
@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_static_member_restarts_without_rebalance(make_broker, workers, strategy):
    # -v: the broker logs each rebalance with its reason.
    broker = make_broker(*GROUP_SETTINGS, "-v").start()
    topic, group = "static", f"group-static-{strategy}"
    create_topic(broker.bootstrap, topic, 4)
    # A long session, so the restart falls well within it.
    extra = ("--session-ms", "10000", "--strategy", strategy)
    a = Worker("confluent", broker.bootstrap, group, topic, "--instance", "a", *extra)
    b = Worker("confluent", broker.bootstrap, group, topic, "--instance", "b", *extra)
    workers += [a, b]
    wait_balanced([a, b], 4, 30, "two static members to split four partitions")
    old = a.owned()
    with b.lock:
        b_changes, b_revocations = len(b.assignments), len(b.revocations)
    a.kill()
    a2 = Worker("confluent", broker.bootstrap, group, topic, "--instance", "a", *extra)
    workers.append(a2)
    wait_for(lambda: a2.owned() == old, timeout=20, what="the restarted member's old assignment")
    # b saw no rebalance: a rebalance would have revoked b's partitions (eager protocol)
    # before a2 could get any assignment.
    with b.lock:
        assert len(b.assignments) == b_changes
        assert len(b.revocations) == b_revocations
    log = open(broker.log_path).read()
    assert "preparing to rebalance" in log
    assert "a static member rejoined" not in log, log


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_at_least_once_through_kills(make_broker, workers, client):
    broker = make_broker(*GROUP_SETTINGS).start()
    topic, group, count = "work", f"alo-{client}", 1500
    create_topic(broker.bootstrap, topic, 6)
    produce(broker.bootstrap, topic, count, 6)

    def start():
        w = Worker(client, broker.bootstrap, group, topic, "--delay-ms", "2")
        workers.append(w)
        return w

    live = [start() for _ in range(3)]
    done = []
    # Kill a member mid-way three times, each time starting a replacement.
    for round_ in range(3):
        wait_for(lambda: sum(len(w.records) for w in live + done) >= (round_ + 1) * count // 5,
                 timeout=60, what="progress before the next kill")
        victim = live.pop(0)
        victim.kill()
        done.append(victim)
        live.append(start())

    def processed():
        seen = set()
        for w in live + done:
            with w.lock:
                seen.update(v for _, _, v in w.records)
        return seen

    wait_for(lambda: len(processed()) == count, timeout=90, what="every record processed")
    assert processed() == {str(i) for i in range(count)}
    # And the group's committed offsets reach the end of every partition.
    wait_for(lambda: committed(broker.bootstrap, group, topic, 6) == {p: count // 6 for p in range(6)},
             timeout=30, what="commits up to the end")


@pytest.mark.parametrize("how", ["clean", "kill"])
def test_offsets_and_group_survive_restart(make_broker, how):
    from kafka import KafkaAdminClient
    broker = make_broker(*GROUP_SETTINGS).start()
    topic, group = "keep", "group-keep"
    create_topic(broker.bootstrap, topic, 3)
    produce(broker.bootstrap, topic, 30, 3)
    w = Worker("confluent", broker.bootstrap, group, topic)
    try:
        wait_for(lambda: len(w.records) == 30, timeout=30, what="the records consumed")
        wait_for(lambda: committed(broker.bootstrap, group, topic, 3) == {0: 10, 1: 10, 2: 10},
                 timeout=20, what="the commits")
        if how == "clean":
            broker.stop()
        else:
            broker.kill()
        w.kill()
    finally:
        w.kill() if w.proc.poll() is None else None
    port = broker.port
    broker.extra += ["--set", f"listeners=PLAINTEXT://127.0.0.1:{port}"]
    broker.start()
    assert committed(broker.bootstrap, group, topic, 3) == {0: 10, 1: 10, 2: 10}
    # The group itself came back from __consumer_offsets too.
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        groups = {g[0] for g in admin.list_consumer_groups()}
        assert group in groups
        offsets = admin.list_consumer_group_offsets(group)
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 10, 1: 10, 2: 10}
    finally:
        admin.close()


def test_admin_describe_delete_and_offset_records(make_broker):
    """kafka-python's admin sees the group; DeleteGroups refuses a live group and removes an
    empty one; __consumer_offsets holds Kafka's record formats."""
    from kafka import KafkaAdminClient, KafkaConsumer
    broker = make_broker(*GROUP_SETTINGS).start()
    topic, group = "admin", "group-admin"
    create_topic(broker.bootstrap, topic, 2)
    produce(broker.bootstrap, topic, 10, 2)
    w = Worker("kafka-python", broker.bootstrap, group, topic)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        wait_for(lambda: len(w.records) == 10, timeout=30, what="records consumed")
        [desc] = admin.describe_consumer_groups([group])
        assert desc.state == "Stable"
        assert desc.protocol_type == "consumer"
        assert desc.protocol == "range"
        assert len(desc.members) == 1
        assert desc.members[0].client_host.startswith("/127.0.0.1")
        result = dict(admin.delete_consumer_groups([group]))
        assert result[group].__name__ == "NonEmptyGroupError"
        w.stop()
        wait_for(lambda: admin.describe_consumer_groups([group])[0].state == "Empty", timeout=20,
                 what="the group to become empty")
        result = dict(admin.delete_consumer_groups([group]))
        assert result[group].__name__ == "NoError"
        assert group not in {g[0] for g in admin.list_consumer_groups()}
    finally:
        w.stop()
        admin.close()

    # The offsets topic is internal, and its records decode as Kafka's key/value formats.
    c = KafkaConsumer("__consumer_offsets", bootstrap_servers=broker.bootstrap,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000,
                      exclude_internal_topics=False)
    keys = [m.key for m in c]
    c.close()
    assert keys, "nothing in __consumer_offsets"
    versions = {int.from_bytes(k[:2], "big") for k in keys}
    assert versions <= {0, 1, 2} and 1 in versions and 2 in versions


def offset_commit_v2(bootstrap, group, topic, partition, offset, retention_ms):
    """A raw OffsetCommit v2 (the versions that carry retention_time_ms) from a client that
    only stores offsets (generation -1, no member). Returns the partition's error code.
    Like any client it looks its coordinator up first (FindCoordinator creates
    __consumer_offsets; a broker answers NOT_COORDINATOR for groups of partitions it does not
    lead)."""
    from kafka_wire import Wire, array, i32, i64, string
    conn = Wire(bootstrap)
    try:
        wait_for(lambda: conn.call(10, 0, string(group)).i16() == 0, what="the group coordinator")
        body = (string(group) + i32(-1) + string("") + i64(retention_ms) +
                array([(topic, [(partition, offset)])],
                      lambda t: string(t[0]) + array(t[1], lambda p: i32(p[0]) + i64(p[1]) +
                                                     string(None))))
        r = conn.call(8, 2, body)
        topics = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16()))))
        return topics[0][1][0][1]
    finally:
        conn.close()


def test_offset_commit_retention_time_expires_offsets(make_broker):
    # OffsetCommit v2-4 may ask for a retention of its own: those offsets expire that long
    # after the commit, also across a restart; -1 keeps offsets.retention.minutes (a week).
    fast = ("--set", "offsets.retention.check.interval.ms=200")
    broker = make_broker(*fast).start()
    create_topic(broker.bootstrap, "kept", 1)
    assert offset_commit_v2(broker.bootstrap, "short-lived", "kept", 0, 5, 4000) == 0
    assert offset_commit_v2(broker.bootstrap, "long-lived", "kept", 0, 7, -1) == 0
    assert committed(broker.bootstrap, "short-lived", "kept", 1) == {0: 5}
    broker.stop()
    broker.start()
    assert committed(broker.bootstrap, "short-lived", "kept", 1) == {0: 5}
    wait_for(lambda: committed(broker.bootstrap, "short-lived", "kept", 1) == {0: -1001},
             timeout=30, what="the offset committed with a 4 s retention expired", interval=0.5)
    assert committed(broker.bootstrap, "long-lived", "kept", 1) == {0: 7}
    broker.stop()
    broker.start()
    assert committed(broker.bootstrap, "short-lived", "kept", 1) == {0: -1001}
    assert committed(broker.bootstrap, "long-lived", "kept", 1) == {0: 7}


def test_deleting_the_offsets_topic_unloads_its_groups(make_broker):
    # The coordinator serves the groups of the __consumer_offsets partitions this broker
    # leads: deleting the topic unloads them (they no longer stay in memory with no record
    # behind them), and the topic FindCoordinator creates again starts empty.
    from confluent_kafka.admin import AdminClient
    broker = make_broker(*GROUP_SETTINGS).start()
    create_topic(broker.bootstrap, "t", 1)
    assert offset_commit_v2(broker.bootstrap, "g", "t", 0, 5, -1) == 0
    assert committed(broker.bootstrap, "g", "t", 1) == {0: 5}
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.delete_topics(["__consumer_offsets"], operation_timeout=20)["__consumer_offsets"].result(
        timeout=30)
    assert committed(broker.bootstrap, "g", "t", 1) == {0: -1001}
    assert offset_commit_v2(broker.bootstrap, "g", "t", 0, 6, -1) == 0
    assert committed(broker.bootstrap, "g", "t", 1) == {0: 6}
    broker.stop()
    broker.start()
    assert committed(broker.bootstrap, "g", "t", 1) == {0: 6}
