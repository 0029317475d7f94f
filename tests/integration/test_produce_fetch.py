"""The data path against real clients: Produce, Fetch (long polls, sessions, sendfile),
ListOffsets, InitProducerId, DeleteRecords and DescribeLogDirs, with kcat,
confluent-kafka-python (librdkafka) and kafka-python, plus raw requests (kafka_wire.py)."""

import json
import os
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

import support
from kafka_wire import Wire, array, decode_records, i16, i32, nbytes, record_batch, string
from support import wait_for

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def create_topic(broker, name, partitions=1, config=None):
    support.create_topic(broker.bootstrap, name, partitions, config)




def consume_all(broker, topic, partitions, expected, timeout=60.0, **conf):
    """Every message of the partitions from offset 0 (assign, no group), until `expected`."""
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "auto.offset.reset": "error", **conf})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in c.consume(10000, 0.5):
                assert m.error() is None, m.error()
                out.append(m)
    finally:
        c.close()
    return out


def first_batch_codec(broker, topic, partition=0):
    path = os.path.join(broker.data_dir, "logs", f"{topic}-{partition}",
                        "00000000000000000000.log")
    with open(path, "rb") as f:
        head = f.read(23)
    return struct.unpack(">h", head[21:23])[0] & 7


# --- kcat -------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_kcat_round_trip(broker, codec):
    topic = f"kcat-{codec}"
    lines = [f"key-{i}\tvalue {i} with spaces, ünïcode and a repeated tail {'xyz' * 20}"
             for i in range(200)]
    lines.append("\tempty key")
    subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K", "\t", "-z", codec,
                    "-H", "h1=one", "-H", "h2=", "-X", "topic.metadata.refresh.interval.ms=100"],
                   input="\n".join(lines) + "\n", text=True, check=True, timeout=60)
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-J"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    msgs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [m["offset"] for m in msgs] == list(range(len(lines)))
    for m, line in zip(msgs, lines):
        key, value = line.split("\t", 1)
        assert (m["key"] or "") == key
        assert m["payload"] == value
        assert m["headers"] == ["h1", "one", "h2", ""]
    # The producer's codec is kept on disk (compression.type=producer). (librdkafka 2.0
    # enables lz4 only with brokers that serve FindCoordinator v0.)
    assert first_batch_codec(broker, topic) == CODEC_IDS[codec]


@pytest.mark.parametrize("codec", CODECS)
def test_timestamps_and_binary_values_to_kcat(broker, codec):
    """Explicit timestamps and arbitrary bytes, produced by librdkafka, read back by kcat."""
    topic = f"ts-{codec}"
    create_topic(broker, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.codec": codec,
                  "enable.idempotence": True})
    sent = []
    for i in range(50):
        ts = 1_600_000_000_000 + i * 1234
        value = bytes((i * 7 + j) % 256 for j in range(64))
        p.produce(topic, key=b"k%d" % i, value=value, timestamp=ts, headers=[("b", bytes([0, i]))])
        sent.append((ts, value))
    assert p.flush(30) == 0
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e",
                          "-f", "%T %o %k %S\n"],
                         capture_output=True, check=True, timeout=60).stdout.decode()
    assert out.splitlines() == [f"{ts} {i} k{i} 64" for i, (ts, _) in enumerate(sent)]
    got = consume_all(broker, topic, 1, 50)
    assert [(m.timestamp()[1], m.value(), m.headers()) for m in got] == \
        [(ts, v, [("b", bytes([0, i]))]) for i, (ts, v) in enumerate(sent)]


# --- confluent-kafka-python -------------------------------------------------------------------

def produce_indexed(broker, topic, n, partitions, codec, **conf):
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                  "compression.codec": codec, "linger.ms": 5, **conf})
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)

    for i in range(n):
        while True:
            try:
                p.produce(topic, key=b"%d" % i, value=b"value-%d" % i, partition=i % partitions,
                          timestamp=1_700_000_000_000 + i, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        if i % 20000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    assert errors == []


def check_indexed(msgs, n, partitions):
    seen = bytearray(n)
    next_offset = [0] * partitions
    last_index = [-1] * partitions
    for m in msgs:
        i = int(m.key())
        assert m.value() == b"value-%d" % i
        assert m.timestamp()[1] == 1_700_000_000_000 + i
        p = m.partition()
        assert p == i % partitions
        assert m.offset() == next_offset[p], "offsets are contiguous"
        assert i > last_index[p], "order kept within a partition"
        next_offset[p] += 1
        last_index[p] = i
        assert not seen[i], f"record {i} duplicated"
        seen[i] = 1
    assert len(msgs) == n and all(seen)


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_a_million_idempotent_records(broker, codec):
    topic = f"idem-{codec}"
    n, partitions = 1_000_000, 8
    create_topic(broker, topic, partitions)
    produce_indexed(broker, topic, n, partitions, codec, **{"batch.num.messages": 10000})
    check_indexed(consume_all(broker, topic, partitions, n, timeout=120), n, partitions)


def test_recompression_by_topic_setting(broker):
    """compression.type other than producer: batches are rewritten with the topic's codec."""
    create_topic(broker, "recompressed", config={"compression.type": "zstd"})
    produce_indexed(broker, "recompressed", 500, 1, "gzip")
    assert first_batch_codec(broker, "recompressed") == CODEC_IDS["zstd"]
    check_indexed(consume_all(broker, "recompressed", 1, 500), 500, 1)

    create_topic(broker, "decompressed", config={"compression.type": "uncompressed"})
    produce_indexed(broker, "decompressed", 500, 1, "lz4")
    assert first_batch_codec(broker, "decompressed") == 0
    check_indexed(consume_all(broker, "decompressed", 1, 500), 500, 1)


def test_timestamp_bounds(broker):
    create_topic(broker, "bounded", config={"message.timestamp.before.max.ms": "60000"})
    w = Wire(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        ok = w.produce("bounded", 0, record_batch([(b"k", b"v")], timestamp=now), version=8)
        assert ok["error"] == 0
        old = w.produce("bounded", 0, record_batch([(b"k", b"v")], timestamp=now - 3_600_000))
        assert old["error"] == 32  # INVALID_TIMESTAMP
        future = w.produce("bounded", 0,
                           record_batch([(b"k", b"v")], timestamp=now + 2 * 3_600_000))
        assert future["error"] == 32
    finally:
        w.close()
    # A LogAppendTime topic takes any timestamp and reports the append time.
    create_topic(broker, "appendtime", config={"message.timestamp.type": "LogAppendTime"})
    w = Wire(broker.bootstrap)
    try:
        before = int(time.time() * 1000)
        r = w.produce("appendtime", 0, record_batch([(b"k", b"v")], timestamp=5))
        assert r["error"] == 0 and r["log_append_time"] >= before
    finally:
        w.close()


# --- kafka-python -----------------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_round_trip(broker, codec):
    """kafka-python (no idempotence in 2.0) over 8 partitions, a million records (fewer with
    KFK_KP_RECORDS for a quick run): keys, values, timestamps and headers come back in order
    with contiguous offsets, and the codec is kept on disk."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTP
    n, partitions = int(os.environ.get("KFK_KP_RECORDS", "1000000")), 8
    topic = f"kp-{codec}"
    create_topic(broker, topic, partitions)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                      batch_size=65536, compression_type=None if codec == "none" else codec)
    for i in range(n):
        p.send(topic, key=b"%d" % i, value=b"kafka-python %d" % i, partition=i % partitions,
               timestamp_ms=1_650_000_000_000 + i, headers=[("n", b"%d" % i)])
    p.flush(300)
    p.close()
    seen = bytearray(n)
    count = 0

    def check(key, value, timestamp, headers, partition, offset):
        nonlocal count
        i = int(key)
        assert value == b"kafka-python %d" % i
        assert timestamp == 1_650_000_000_000 + i
        assert headers == [("n", b"%d" % i)]
        assert partition == i % partitions and offset == i // partitions
        assert not seen[i], f"record {i} duplicated"
        seen[i] = 1
        count += 1

    if codec == "zstd":
        # kafka-python 2.0 fetches with Fetch v4, below the v10 that zstd needs (KIP-110):
        # Kafka answers it UNSUPPORTED_COMPRESSION_TYPE, so librdkafka reads these back.
        for m in consume_all(broker, topic, partitions, n, timeout=300):
            check(m.key(), m.value(), m.timestamp()[1], m.headers(), m.partition(), m.offset())
        assert count == n
        assert first_batch_codec(broker, topic) == CODEC_IDS[codec]
        return
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, auto_offset_reset="earliest",
                      max_partition_fetch_bytes=4 << 20, fetch_max_bytes=32 << 20)
    c.assign([KTP(topic, p) for p in range(partitions)])
    deadline = time.monotonic() + 300
    while count < n and time.monotonic() < deadline:
        for tp, msgs in c.poll(timeout_ms=500, max_records=50_000).items():
            for m in msgs:
                check(m.key, m.value, m.timestamp, m.headers, m.partition, m.offset)
    c.close()
    assert count == n
    assert first_batch_codec(broker, topic) == CODEC_IDS[codec]


# --- long polls and sessions -------------------------------------------------------------------

def test_long_poll_waits_for_max_wait_then_wakes_on_produce(broker):
    create_topic(broker, "poll")
    w = Wire(broker.bootstrap)
    try:
        t0 = time.monotonic()
        r = w.fetch([("poll", 0, 0, 1 << 20)], max_wait_ms=2000, min_bytes=1)
        elapsed = time.monotonic() - t0
        part = r["topics"]["poll"][0]
        assert part["error"] == 0 and part["records"] == b""
        assert 1.9 <= elapsed < 4.0, elapsed

        def produce_later():
            time.sleep(0.3)
            p = Wire(broker.bootstrap)
            try:
                p.produce("poll", 0, record_batch([(b"k", b"wake up")]))
            finally:
                p.close()

        t = threading.Thread(target=produce_later)
        t0 = time.monotonic()
        t.start()
        r = w.fetch([("poll", 0, 0, 1 << 20)], max_wait_ms=10000, min_bytes=1)
        elapsed = time.monotonic() - t0
        t.join()
        assert decode_records(r["topics"]["poll"][0]["records"]) == [(0, b"k", b"wake up")]
        assert elapsed < 3.0, elapsed

        # Data present but below min_bytes: the fetch waits out max_wait, then returns it.
        t0 = time.monotonic()
        r = w.fetch([("poll", 0, 0, 1 << 20)], max_wait_ms=1000, min_bytes=1 << 20)
        elapsed = time.monotonic() - t0
        assert 0.9 <= elapsed < 3.0, elapsed
        assert len(decode_records(r["topics"]["poll"][0]["records"])) == 1
    finally:
        w.close()


def test_fetch_limits_first_batch_may_exceed_them(broker):
    create_topic(broker, "limits", 2)
    w = Wire(broker.bootstrap)
    try:
        for p in range(2):
            for i in range(3):
                assert w.produce("limits", p, record_batch([(b"k", b"x" * 1000)]))["error"] == 0
        # partition_max_bytes 10: still one whole batch from the first partition, nothing more.
        r = w.fetch([("limits", 0, 0, 10), ("limits", 1, 0, 10)])
        parts = {d["partition"]: d for d in r["topics"]["limits"]}
        assert len(decode_records(parts[0]["records"])) == 1
        assert parts[1]["records"] == b""
        assert parts[1]["high_watermark"] == 3
        # max_bytes 10 over two partitions: one batch in all.
        r = w.fetch([("limits", 0, 0, 1 << 20), ("limits", 1, 0, 1 << 20)], max_bytes=10)
        sizes = [len(decode_records(d["records"])) for d in r["topics"]["limits"]]
        assert sorted(sizes) == [0, 1]
        # Enough room: everything.
        r = w.fetch([("limits", 0, 0, 1 << 20), ("limits", 1, 0, 1 << 20)])
        assert [len(decode_records(d["records"])) for d in r["topics"]["limits"]] == [3, 3]
    finally:
        w.close()


def test_fetch_sessions(broker):
    create_topic(broker, "sess", 2)
    w = Wire(broker.bootstrap)
    try:
        w.produce("sess", 0, record_batch([(b"a", b"1")]))
        full = w.fetch([("sess", 0, 0, 1 << 20), ("sess", 1, 0, 1 << 20)], session_id=0,
                       session_epoch=0)
        sid = full["session_id"]
        assert full["error"] == 0 and sid != 0
        assert len(full["topics"]["sess"]) == 2
        # Incremental, nothing new past offset 1 of partition 0: an empty response.
        inc = w.fetch([("sess", 0, 1, 1 << 20)], session_id=sid, session_epoch=1)
        assert inc["error"] == 0 and inc["session_id"] == sid
        assert inc["topics"] == {}
        # New data in partition 1: only it comes back.
        w.produce("sess", 1, record_batch([(b"b", b"2")]))
        inc = w.fetch([], session_id=sid, session_epoch=2)
        assert [d["partition"] for d in inc["topics"]["sess"]] == [1]
        assert decode_records(inc["topics"]["sess"][0]["records"]) == [(0, b"b", b"2")]
        # A stale epoch, then an unknown session.
        assert w.fetch([], session_id=sid, session_epoch=2)["error"] == 71
        assert w.fetch([], session_id=sid + 1, session_epoch=1)["error"] == 70
        # Forget partition 1, move partition 0: the session goes on with partition 0.
        inc = w.fetch([("sess", 0, 0, 1 << 20)], session_id=sid, session_epoch=3,
                      forgotten=[("sess", 1)])
        assert [d["partition"] for d in inc["topics"]["sess"]] == [0]
        # Closing the session: a sessionless full response.
        close = w.fetch([("sess", 0, 0, 1 << 20)], session_id=sid, session_epoch=-1)
        assert close["session_id"] == 0 and len(close["topics"]["sess"]) == 1
        assert w.fetch([], session_id=sid, session_epoch=4)["error"] == 70
    finally:
        w.close()


def test_fetch_errors(broker):
    create_topic(broker, "errs")
    w = Wire(broker.bootstrap)
    try:
        w.produce("errs", 0, record_batch([(b"k", b"v")]))
        r = w.fetch([("errs", 0, 5, 1 << 20), ("errs", 7, 0, 1 << 20), ("nope", 0, 0, 1 << 20)],
                    max_wait_ms=5000, isolation=1)
        parts = {(t, d["partition"]): d for t, ds in r["topics"].items() for d in ds}
        assert parts[("errs", 0)]["error"] == 1  # OFFSET_OUT_OF_RANGE
        assert parts[("errs", 7)]["error"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
        assert parts[("nope", 0)]["error"] == 3
        ok = w.fetch([("errs", 0, 0, 1 << 20)], isolation=1)["topics"]["errs"][0]
        assert ok["aborted"] == [] and ok["last_stable_offset"] == 1
        ok = w.fetch([("errs", 0, 0, 1 << 20)], isolation=0, version=11)["topics"]["errs"][0]
        assert ok["aborted"] is None and ok["preferred_read_replica"] == -1
    finally:
        w.close()


# --- offsets ----------------------------------------------------------------------------------

def test_list_offsets_and_watermarks(broker):
    create_topic(broker, "lo")
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce("lo", value=b"%d" % i, partition=0, timestamp=1_000_000 + i * 1000)
        p.flush(10)  # one batch per record, so times map onto batches exactly
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    try:
        assert c.get_watermark_offsets(TopicPartition("lo", 0), timeout=10) == (0, 10)
        found = c.offsets_for_times([TopicPartition("lo", 0, 1_004_500)], timeout=10)
        assert found[0].offset == 5
        found = c.offsets_for_times([TopicPartition("lo", 0, 1_000_000)], timeout=10)
        assert found[0].offset == 0
        past = c.offsets_for_times([TopicPartition("lo", 0, 9_999_999)], timeout=10)
        assert past[0].offset == -1  # none: librdkafka's OFFSET_END
    finally:
        c.close()
    w = Wire(broker.bootstrap)
    try:
        for version in (1, 2, 4):
            assert w.list_offsets("lo", 0, -2, version)["offset"] == 0
            assert w.list_offsets("lo", 0, -1, version)["offset"] == 10
        latest = w.list_offsets("lo", 0, -1, 4)
        assert latest["leader_epoch"] == 0 and latest["timestamp"] == -1
        by_time = w.list_offsets("lo", 0, 1_003_000, 4)
        assert (by_time["offset"], by_time["timestamp"]) == (3, 1_003_000)
        # -3 (the largest timestamp) needs v7 in Kafka; check through a v1 lookup of the time.
        assert w.list_offsets("nope", 0, -1)["error"] == 3
    finally:
        w.close()


def test_delete_records_and_offset_out_of_range(broker):
    create_topic(broker, "dr")
    produce_indexed(broker, "dr", 100, 1, "none")
    w = Wire(broker.bootstrap)
    try:
        r = w.delete_records("dr", 0, 50)
        assert (r["error"], r["low_watermark"]) == (0, 50)
        assert w.delete_records("dr", 0, 1000)["error"] == 1  # past the high watermark
        assert w.delete_records("dr", 3, 10)["error"] == 3
        f = w.fetch([("dr", 0, 10, 1 << 20)])["topics"]["dr"][0]
        assert f["error"] == 1  # OFFSET_OUT_OF_RANGE
        f = w.fetch([("dr", 0, 50, 1 << 20)])["topics"]["dr"][0]
        assert f["error"] == 0 and f["log_start_offset"] == 50
        assert decode_records(f["records"])[0][0] <= 50
        assert w.list_offsets("dr", 0, -2)["offset"] == 50
        # DescribeLogDirs sees the partition.
        dirs = w.describe_log_dirs()
        assert len(dirs) == 1 and dirs[0]["error"] == 0
        parts = dict(dirs[0]["topics"])["dr"]
        assert parts[0]["partition"] == 0 and parts[0]["size"] > 0 and parts[0]["offset_lag"] == 0
        only = w.describe_log_dirs([("dr", [0])])
        assert [t for t, _ in only[0]["topics"]] == ["dr"]
    finally:
        w.close()

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    try:
        assert c.get_watermark_offsets(TopicPartition("dr", 0), timeout=10) == (50, 100)
    finally:
        c.close()

    # auto.offset.reset=earliest: a consumer at offset 10 restarts from the log start.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition("dr", 0, 10)])
    try:
        m = wait_for(lambda: c.poll(0.5), what="a message after the reset")
        assert m.error() is None and m.offset() == 50
    finally:
        c.close()
    # auto.offset.reset=error: the consumer is told.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "auto.offset.reset": "error", "enable.auto.commit": False})
    c.assign([TopicPartition("dr", 0, 10)])
    try:
        m = wait_for(lambda: c.poll(0.5), what="the reset error")
        assert m.error() is not None and m.error().code() == KafkaError._AUTO_OFFSET_RESET
    finally:
        c.close()


# --- idempotence ------------------------------------------------------------------------------

def test_idempotent_duplicates_get_the_original_offsets(broker):
    create_topic(broker, "dup")
    w = Wire(broker.bootstrap)
    try:
        err, pid, epoch = w.init_producer_id()
        assert err == 0 and pid >= 0 and epoch == 0
        err2, pid2, _ = w.init_producer_id()
        assert err2 == 0 and pid2 != pid
        # Transactional ids are refused until transactions exist.
        assert w.init_producer_id("txn")[0] == 53

        batch = record_batch([(b"a", b"1"), (b"b", b"2")], pid, 0, 0)
        first = w.produce("dup", 0, batch)
        again = w.produce("dup", 0, batch)
        assert first["error"] == 0 and again["error"] == 0
        assert first["base_offset"] == again["base_offset"] == 0
        nxt = w.produce("dup", 0, record_batch([(b"c", b"3")], pid, 0, 2))
        assert (nxt["error"], nxt["base_offset"]) == (0, 2)
        gap = w.produce("dup", 0, record_batch([(b"d", b"4")], pid, 0, 7))
        assert gap["error"] == 45  # OUT_OF_ORDER_SEQUENCE_NUMBER
        txn = w.produce("dup", 0, record_batch([(b"t", b"x")], pid2, 0, 0, transactional=True))
        assert txn["error"] == 53
        recs = decode_records(w.fetch([("dup", 0, 0, 1 << 20)])["topics"]["dup"][0]["records"])
        assert recs == [(0, b"a", b"1"), (1, b"b", b"2"), (2, b"c", b"3")]
    finally:
        w.close()


def test_acks_zero(broker):
    create_topic(broker, "fire")
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": 0})
    for i in range(100):
        p.produce("fire", value=b"%d" % i)
    assert p.flush(10) == 0
    assert len(consume_all(broker, "fire", 1, 100, timeout=20)) == 100


def test_acks_zero_failure_closes_the_connection(broker):
    # acks=0 owes no response, so Kafka tells the producer of a failure the only way it can:
    # it closes the connection. A request that succeeds leaves the connection open.
    create_topic(broker, "fire-ok")
    w = Wire(broker.bootstrap, timeout=10)
    try:
        body = i16(0) + i32(30000) + array(
            ["fire-ok"], lambda t: string(t) + array([0], lambda p: i32(p) + nbytes(
                record_batch([(None, b"fine")]))))
        w.sock.sendall(i32(len(body) + 19) + i16(0) + i16(2) + i32(1) + string("kfk-tests") + body)
        # Still open: a request after it is answered.
        r = w.list_offsets("fire-ok", 0, -1)
        assert r["error"] == 0 and r["offset"] == 1
        body = i16(0) + i32(30000) + array(
            ["no-such-topic-here"], lambda t: string(t) + array([0], lambda p: i32(p) + nbytes(
                record_batch([(None, b"lost")]))))
        w.sock.sendall(i32(len(body) + 19) + i16(0) + i16(2) + i32(2) + string("kfk-tests") + body)
        assert w.sock.recv(1) == b""  # closed by the broker, with nothing sent
    finally:
        w.close()
