"""Clients from before Kafka 0.11: the request versions Kafka 3.9 still served and 4.0
dropped. kafka-python pinned to old `api_version`s (message formats v0 and v1, old group
requests), librdkafka with `broker.version.fallback`, and raw requests (kafka_wire.py) for
each newly served version."""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KTopicPartition

import support
from kafka_wire import (Wire, array, decode_legacy, decode_records, i8, i16, i32, i64,
                        legacy_message_set, nbytes, string)
from support import wait_for


class _XXH32:
    """XXH32 in Python, standing in for the xxhash module when it is missing: kafka-python
    needs it for the LZ4 framing of message format v0 (it hashes frame headers only)."""
    P1, P2, P3, P4, P5 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1
    M = 0xFFFFFFFF

    def __init__(self, data=b"", seed=0):
        self.data, self.seed = bytes(data), seed

    @staticmethod
    def _rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & _XXH32.M

    def intdigest(self):
        d, n, M = self.data, len(self.data), self.M
        pos = 0
        if n >= 16:
            v = [(self.seed + self.P1 + self.P2) & M, (self.seed + self.P2) & M, self.seed,
                 (self.seed - self.P1) & M]
            while pos + 16 <= n:
                for i in range(4):
                    lane = int.from_bytes(d[pos + 4 * i:pos + 4 * i + 4], "little")
                    v[i] = (self._rotl((v[i] + lane * self.P2) & M, 13) * self.P1) & M
                pos += 16
            h = (self._rotl(v[0], 1) + self._rotl(v[1], 7) + self._rotl(v[2], 12) +
                 self._rotl(v[3], 18)) & M
        else:
            h = (self.seed + self.P5) & M
        h = (h + n) & M
        while pos + 4 <= n:
            lane = int.from_bytes(d[pos:pos + 4], "little")
            h = (self._rotl((h + lane * self.P3) & M, 17) * self.P4) & M
            pos += 4
        while pos < n:
            h = (self._rotl((h + d[pos] * self.P5) & M, 11) * self.P1) & M
            pos += 1
        h ^= h >> 15
        h = (h * self.P2) & M
        h ^= h >> 13
        h = (h * self.P3) & M
        h ^= h >> 16
        return h

    def digest(self):
        return self.intdigest().to_bytes(4, "big")


class _XXHashModule:
    xxh32 = _XXH32


@pytest.fixture(autouse=True)
def lz4_for_message_format_v0(monkeypatch):
    import kafka.codec
    if kafka.codec.xxhash is None:
        monkeypatch.setattr(kafka.codec, "xxhash", _XXHashModule)


def test_xxh32_stand_in():
    assert _XXH32(b"").intdigest() == 0x02CC5D05
    assert _XXH32(b"abc").intdigest() == 0x32D153FF
    assert _XXH32(bytes(range(40))).digest() == _XXH32(bytes(range(40))).intdigest().to_bytes(
        4, "big")

OLD_API_VERSIONS = [(0, 9), (0, 10, 0), (0, 10, 1), (0, 11)]
LEGACY_CODECS = ["none", "gzip", "snappy", "lz4"]
CORRUPT_MESSAGE = 2
UNSUPPORTED_COMPRESSION_TYPE = 76


def create_topic(broker, name, partitions=1, config=None):
    support.create_topic(broker.bootstrap, name, partitions, config)


def message_format(api_version):
    return 0 if api_version < (0, 10) else 1 if api_version < (0, 11) else 2


# --- ApiVersions ----------------------------------------------------------------------------

def test_api_versions_advertise_the_old_versions(broker):
    w = Wire(broker.bootstrap)
    try:
        r = w.call(18, 0, b"")
        assert r.i16() == 0
        ranges = {k: (lo, hi) for k, lo, hi in r.array(lambda r: (r.i16(), r.i16(), r.i16()))}
    finally:
        w.close()
    # Produce, Fetch, OffsetCommit, OffsetFetch, JoinGroup, CreateTopics, DeleteTopics,
    # DescribeConfigs, DescribeLogDirs, DeleteGroups: from 0, as Kafka 3.9 served them.
    for key in (0, 1, 8, 9, 11, 19, 20, 32, 35, 42):
        assert ranges[key][0] == 0, key
    assert ranges[0][1] >= 11 and ranges[1][1] >= 17


# --- kafka-python pinned to old versions -------------------------------------------------------

@pytest.mark.parametrize("codec", LEGACY_CODECS)
@pytest.mark.parametrize("api_version", OLD_API_VERSIONS, ids=lambda v: ".".join(map(str, v)))
def test_kafka_python_old_versions_round_trip(broker, api_version, codec):
    topic = f"old-{'-'.join(map(str, api_version))}-{codec}"
    create_topic(broker, topic)
    base_ts = int(time.time() * 1000) - 60_000
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version,
                      compression_type=None if codec == "none" else codec, linger_ms=50,
                      acks="all")
    sent = []
    for i in range(60):
        key = None if i % 7 == 3 else f"key-{i}".encode()
        value = None if i == 5 else f"value {i} {'abc' * (i % 9)}".encode()
        sent.append((key, value, base_ts + i))
        p.send(topic, key=key, value=value, partition=0, timestamp_ms=base_ts + i)
    p.flush(30)
    p.close()

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version=api_version,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=10_000, fetch_max_wait_ms=100)
    c.assign([KTopicPartition(topic, 0)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < len(sent) and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            got.extend(recs)
    c.close()
    assert [m.offset for m in got] == list(range(len(sent)))
    assert [(m.key, m.value) for m in got] == [(k, v) for k, v, _ in sent]
    if message_format(api_version) == 0:
        # Format v0 has no timestamps: none was stored, none comes back.
        assert all(m.timestamp in (None, -1) for m in got)
    else:
        assert [m.timestamp for m in got] == [ts for _, _, ts in sent]

    # A current client reads the same records from the v2 log.
    newer = consume_with_librdkafka(broker, topic, len(sent))
    assert [(m.key(), m.value()) for m in newer] == [(k, v) for k, v, _ in sent]


def consume_with_librdkafka(broker, topic, expected, **conf):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", **conf})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                assert m.error() is None, m.error()
                out.append(m)
    finally:
        c.close()
    return out


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 1)], ids=lambda v: ".".join(map(str, v)))
def test_kafka_python_old_consumer_group_commits(make_broker, api_version):
    broker = make_broker("--set", "group.initial.rebalance.delay.ms=0").start()
    topic = "old-group"
    create_topic(broker, topic, partitions=2)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version)
    for i in range(40):
        p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 2)
    p.flush(30)
    p.close()

    def consume(n):
        c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, api_version=api_version,
                          group_id="old-group-g", auto_offset_reset="earliest",
                          enable_auto_commit=False, max_poll_records=n,
                          session_timeout_ms=10_000, heartbeat_interval_ms=1_000)
        got = []
        deadline = time.monotonic() + 30
        while len(got) < n and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500, max_records=n - len(got)).values():
                got.extend(recs)
        c.commit()
        c.close()
        return got

    first = consume(30)
    assert len(first) == 30
    rest = consume(10)
    # The second member starts at the committed offsets: every record once.
    assert sorted(m.value for m in first + rest) == sorted(f"v{i}".encode() for i in range(40))


# --- librdkafka without ApiVersions ---------------------------------------------------------

# From 0.10 on, librdkafka asks ApiVersions whatever api.version.request says.
@pytest.mark.parametrize("fallback", ["0.8.2.2", "0.9.0"])
def test_librdkafka_broker_version_fallback(broker, fallback):
    topic = f"fallback-{fallback.replace('.', '-')}"
    create_topic(broker, topic)
    conf = {"api.version.request": False, "broker.version.fallback": fallback}
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20,
                  "compression.codec": "gzip", **conf})
    errors = []
    for i in range(50):
        p.produce(topic, key=f"k{i}", value=f"v{i}", partition=0,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(30) == 0
    assert errors == []
    got = consume_with_librdkafka(broker, topic, 50, **conf)
    assert [(m.key(), m.value()) for m in got] == [
        (f"k{i}".encode(), f"v{i}".encode()) for i in range(50)]


# --- Produce v0-2 and Fetch v0-3, raw -----------------------------------------------------

@pytest.mark.parametrize("compression", [0, 1, 2, 3], ids=LEGACY_CODECS)
@pytest.mark.parametrize("produce_version,magic", [(0, 0), (1, 0), (2, 1), (2, 0)])
def test_raw_legacy_produce_then_fetch_every_version(broker, produce_version, magic, compression):
    topic = f"raw-{produce_version}-{magic}-{compression}"
    create_topic(broker, topic)
    ts = int(time.time() * 1000) - 5_000
    messages = [(f"k{i}".encode() if i != 1 else None, f"v{i}".encode(),
                 ts + i if magic == 1 else None) for i in range(5)]
    w = Wire(broker.bootstrap)
    try:
        for _ in range(2):
            r = w.produce(topic, 0, legacy_message_set(messages, magic, compression),
                          version=produce_version)
            assert r["error"] == 0, r
        assert r["base_offset"] == 5
        for fetch_version in range(0, 5):
            resp = w.fetch([(topic, 0, 2, 1 << 20)], version=fetch_version)
            part = resp["topics"][topic][0]
            assert part["error"] == 0 and part["high_watermark"] == 10
            if fetch_version >= 4:
                # Whole v2 batches, from the one holding the fetch offset: the client skips.
                got = [g for g in decode_records(part["records"]) if g[0] >= 2]
                assert [(o, k, v) for o, k, v in got] == [
                    (o, messages[o % 5][0], messages[o % 5][1]) for o in range(2, 10)]
                continue
            want_magic = 0 if fetch_version <= 1 else 1
            got = decode_legacy(part["records"])
            assert [g[0] for g in got] == list(range(2, 10)), fetch_version
            assert {g[1] for g in got} == {want_magic}
            assert [(g[3], g[4]) for g in got] == [messages[o % 5][:2] for o in range(2, 10)]
            if want_magic == 1:
                # Format v0 had no timestamps (-1 in the log); v1 ones are kept.
                assert [g[2] for g in got] == [
                    (messages[o % 5][2] if magic == 1 else -1) for o in range(2, 10)]
    finally:
        w.close()


def test_raw_legacy_produce_errors(broker):
    create_topic(broker, "legacy-errors")
    good = legacy_message_set([(b"k", b"v", None)], 0)
    w = Wire(broker.bootstrap)
    try:
        bad_crc = bytearray(good)
        bad_crc[-1] ^= 0x01  # the value, covered by the CRC32
        assert w.produce("legacy-errors", 0, bytes(bad_crc), version=1)["error"] == CORRUPT_MESSAGE
        assert w.produce("legacy-errors", 0, good[:-2], version=1)["error"] == CORRUPT_MESSAGE
        # Produce v3+ requires format v2, as in Kafka.
        assert w.produce("legacy-errors", 0, good, version=3)["error"] != 0
        assert w.produce("legacy-errors", 0, good, version=0)["error"] == 0
    finally:
        w.close()


def test_raw_fetch_v0_to_v3_limits(broker):
    topic = "legacy-limits"
    create_topic(broker, topic)
    w = Wire(broker.bootstrap)
    try:
        # One message set, so one v2 batch in the log, larger than the limits below: the
        # conversion, not the log read, decides how much is sent.
        values = [bytes([65 + i]) * 200 for i in range(10)]
        r = w.produce(topic, 0, legacy_message_set([(None, v, None) for v in values], 0),
                      version=0)
        assert r["error"] == 0
        one = 12 + 22 + 200  # a magic 1 entry of a 200-byte value (magic 0: 8 bytes less)
        for version in range(0, 4):
            part = w.fetch([(topic, 0, 0, 3 * one + 10)], version=version)["topics"][topic][0]
            got = decode_legacy(part["records"])
            assert [g[4] for g in got] == values[:3], version
            assert len(part["records"]) <= 3 * one + 10
        # A message larger than the partition limit: v0-2 return the cut message (the client
        # reports it as too large), v3 the whole first message.
        for version in range(0, 3):
            part = w.fetch([(topic, 0, 0, 100)], version=version)["topics"][topic][0]
            assert len(part["records"]) == 100 and decode_legacy(part["records"]) == []
        part = w.fetch([(topic, 0, 0, 100)], version=3, max_bytes=100)["topics"][topic][0]
        assert [g[4] for g in decode_legacy(part["records"])] == values[:1]
    finally:
        w.close()


def test_raw_fetch_v3_skips_zstd_with_an_error(broker):
    topic = "legacy-zstd"
    create_topic(broker, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.codec": "zstd"})
    p.produce(topic, value=b"z" * 100, partition=0)
    assert p.flush(30) == 0
    w = Wire(broker.bootstrap)
    try:
        part = w.fetch([(topic, 0, 0, 1 << 20)], version=3)["topics"][topic][0]
        assert part["error"] == UNSUPPORTED_COMPRESSION_TYPE
    finally:
        w.close()


def test_raw_log_append_time_topic_fetch_v2(broker):
    topic = "legacy-lat"
    create_topic(broker, topic, config={"message.timestamp.type": "LogAppendTime"})
    w = Wire(broker.bootstrap)
    try:
        before = int(time.time() * 1000)
        r = w.produce(topic, 0, legacy_message_set([(b"k", b"v", 1000)], 1, 1), version=2)
        assert r["error"] == 0 and r["log_append_time"] >= before
        got = decode_legacy(w.fetch([(topic, 0, 0, 1 << 20)], version=2)["topics"][topic][0][
            "records"])
        assert [(g[2], g[3], g[4]) for g in got] == [(r["log_append_time"], b"k", b"v")]
    finally:
        w.close()


# --- the other old versions, raw ----------------------------------------------------------

def find_coordinator_v0(w, group):
    def ready():
        r = w.call(10, 0, string(group))
        return r.i16() == 0
    wait_for(ready, what="the group coordinator")


def test_raw_create_delete_topics_v0(broker):
    w = Wire(broker.bootstrap)
    try:
        body = array([("v0-topic", 3)], lambda t: string(t[0]) + i32(t[1]) + i16(1) + array(
            [], None) + array([("retention.ms", "1234")], lambda c: string(c[0]) + string(c[1])))
        r = w.call(19, 0, body + i32(30000))
        assert r.array(lambda r: (r.string(), r.i16())) == [("v0-topic", 0)]
        r = w.call(19, 0, body + i32(30000))
        assert r.array(lambda r: (r.string(), r.i16())) == [("v0-topic", 36)]  # exists

        # DescribeConfigs v0: is_default instead of a config source.
        body = array([(2, "v0-topic")], lambda x: i8(x[0]) + string(x[1]) + array(None, None))
        r = w.call(32, 0, body)
        r.i32()

        def config(r):
            return (r.string(), r.string(), r.bool(), r.bool(), r.bool())

        results = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string(), r.array(config)))
        error, _, _, name, configs = results[0]
        assert (error, name) == (0, "v0-topic")
        by_name = {c[0]: c for c in configs}
        assert by_name["retention.ms"][1:4] == ("1234", False, False)
        assert by_name["cleanup.policy"][3] is True  # is_default

        # DescribeLogDirs v0.
        r = w.call(35, 0, array([("v0-topic", [0, 1, 2])], lambda t: string(t[0]) + array(
            t[1], i32)))
        r.i32()
        dirs = r.array(lambda r: (r.i16(), r.string(), r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i64(), r.i64(), r.bool()))))))
        assert dirs[0][0] == 0
        assert sorted(p[0] for p in dirs[0][2][0][1]) == [0, 1, 2]

        r = w.call(20, 0, array(["v0-topic", "v0-missing"], string) + i32(30000))
        assert r.array(lambda r: (r.string(), r.i16())) == [("v0-topic", 0), ("v0-missing", 3)]
    finally:
        w.close()


def test_raw_offset_commit_v0_v1_and_offset_fetch_v0(broker):
    create_topic(broker, "oc-topic", partitions=2)
    w = Wire(broker.bootstrap)
    try:
        find_coordinator_v0(w, "oc-group")
        # v0: no generation, no member; v1 adds them and a commit timestamp per partition.
        body = string("oc-group") + array([("oc-topic", [(0, 11, "m0")])], lambda t: string(
            t[0]) + array(t[1], lambda p: i32(p[0]) + i64(p[1]) + string(p[2])))
        r = w.call(8, 0, body)
        assert r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))) == [
            ("oc-topic", [(0, 0)])]
        body = string("oc-group") + i32(-1) + string("") + array(
            [("oc-topic", [(1, 22, int(time.time() * 1000), "m1")])], lambda t: string(
                t[0]) + array(t[1], lambda p: i32(p[0]) + i64(p[1]) + i64(p[2]) + string(p[3])))
        r = w.call(8, 1, body)
        assert r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))) == [
            ("oc-topic", [(1, 0)])]

        r = w.call(9, 0, string("oc-group") + array([("oc-topic", [0, 1])], lambda t: string(
            t[0]) + array(t[1], i32)))
        got = r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i64(), r.string(), r.i16()))))
        assert got == [("oc-topic", [(0, 11, "m0", 0), (1, 22, "m1", 0)])]

        # DeleteGroups v0 removes the (empty) group and its offsets.
        r = w.call(42, 0, array(["oc-group"], string))
        r.i32()
        assert r.array(lambda r: (r.string(), r.i16())) == [("oc-group", 0)]
    finally:
        w.close()


def test_raw_join_group_v0(make_broker):
    broker = make_broker("--set", "group.initial.rebalance.delay.ms=0").start()
    w = Wire(broker.bootstrap)
    try:
        find_coordinator_v0(w, "jg0")
        # v0 has no rebalance timeout: the session timeout stands in for it.
        body = string("jg0") + i32(10_000) + string("") + string("consumer") + array(
            [("range", b"\x00\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x00")],
            lambda p: string(p[0]) + nbytes(p[1]))
        r = w.call(11, 0, body)
        error, generation, protocol, leader, member = (r.i16(), r.i32(), r.string(), r.string(),
                                                       r.string())
        members = r.array(lambda r: (r.string(), r.bytes()))
        assert error == 0 and generation == 1 and protocol == "range"
        assert leader == member and [m[0] for m in members] == [member]
    finally:
        w.close()


def test_raw_join_group_v0_rebalance_waits_for_the_session_timeout(make_broker):
    """v0 has no rebalance timeout; Kafka waits for the known members as long as their
    session timeout, so a member that rejoins in time stays in the group."""
    broker = make_broker("--set", "group.initial.rebalance.delay.ms=0").start()
    a, b = Wire(broker.bootstrap), Wire(broker.bootstrap)
    try:
        find_coordinator_v0(a, "jg0r")

        def join_body(member):
            return string("jg0r") + i32(10_000) + string(member) + string("consumer") + array(
                [("range", b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")],
                lambda p: string(p[0]) + nbytes(p[1]))

        def join_response(r):
            out = {"error": r.i16(), "generation": r.i32(), "protocol": r.string(),
                   "leader": r.string(), "member": r.string()}
            out["members"] = [m for m, _ in r.array(lambda r: (r.string(), r.bytes()))]
            return out

        first = join_response(a.call(11, 0, join_body("")))
        assert first["error"] == 0 and first["generation"] == 1
        pending_b = b.send(11, 0, join_body(""))

        def rebalancing():  # b's join has started a rebalance (DescribeGroups v0)
            r = a.call(15, 0, array(["jg0r"], string))
            return r.array(lambda r: (r.i16(), r.string(), r.string()))[0][2] == \
                "PreparingRebalance"

        wait_for(rebalancing, what="b's join to start a rebalance")
        again = join_response(a.call(11, 0, join_body(first["member"])))
        joined_b = join_response(b.receive(pending_b))
        assert again["error"] == 0 and joined_b["error"] == 0
        assert again["generation"] == joined_b["generation"] == 2
        assert again["member"] == first["member"]
        assert sorted(again["members"] or joined_b["members"]) == sorted(
            [first["member"], joined_b["member"]])
    finally:
        a.close()
        b.close()
