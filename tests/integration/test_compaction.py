"""Log compaction against real clients: the cleaner keeps the latest value per key, drops
tombstones after delete.retention.ms, refuses records without a key, and compacts
__consumer_offsets."""

import json
import os
import subprocess
import time

from conftest import KFK

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from support import create_topic, wait_for

# The cleaner looks for work every 100 ms instead of 15 s; -v logs each cleaning.
FAST_CLEANER = ("-v", "--set", "log.cleaner.backoff.ms=100")


def read_partition(bootstrap, topic, partition=0, timeout=60):
    """(offset, key, value) of every record from the start to the current end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        c.assign([TopicPartition(topic, partition, 0)])
        out = []
        deadline = time.monotonic() + timeout
        while high > 0 and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(msg.error())
            out.append((msg.offset(), msg.key(), msg.value()))
            if msg.offset() + 1 >= high:
                break
        else:
            if high > 0:
                raise AssertionError(f"could not read {topic}-{partition} to its end")
        return out
    finally:
        c.close()


def produce_all(bootstrap, topic, items, **conf):
    """items: (key, value) pairs. Returns the offsets, in order."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    offsets = [None] * len(items)
    errors = []

    def report(i):
        def cb(err, msg):
            if err:
                errors.append(err)
            else:
                offsets[i] = msg.offset()
        return cb

    for i, (k, v) in enumerate(items):
        while True:
            try:
                p.produce(topic, key=k, value=v, on_delivery=report(i))
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(60) == 0
    assert not errors, errors[:3]
    return offsets


def partition_files(broker, topic, partition=0):
    return sorted(os.listdir(os.path.join(broker.data_dir, "logs", f"{topic}-{partition}")))


def test_latest_value_of_each_key_survives_cleaning(make_broker):
    broker = make_broker(*FAST_CLEANER).start()
    create_topic(broker.bootstrap, "changelog", config={
        "cleanup.policy": "compact", "segment.bytes": "1048576",
        "min.cleanable.dirty.ratio": "0.01", "max.compaction.lag.ms": "1000"})
    keys, versions = 10_000, 10
    items = [(f"key-{k}".encode(), f"v{v}-{k}".encode()) for v in range(versions) for k in range(keys)]
    offsets = produce_all(broker.bootstrap, "changelog", items)
    assert offsets[-1] == keys * versions - 1

    # max.compaction.lag.ms rolls the active segment once its first record is 1 s old, so
    # every segment gets cleaned.
    def compacted():
        records = read_partition(broker.bootstrap, "changelog")
        return records if len(records) == keys else None
    records = wait_for(compacted, timeout=60, what="the topic compacted to one record per key",
                       interval=0.5)
    assert {k: v for _, k, v in records} == {f"key-{k}".encode(): f"v{versions - 1}-{k}".encode()
                                             for k in range(keys)}
    # Original offsets: version 9 of key k was written at offset 9 * keys + k.
    assert [o for o, _, _ in records] == list(range((versions - 1) * keys, versions * keys))
    log = open(broker.log_path).read()
    assert "log cleaner: cleaned changelog-0" in log

    # kfk topic describe shows the dirty ratio and the last cleaning.
    out = subprocess.run([KFK, "-b", broker.bootstrap, "topic", "describe", "changelog",
                          "--output", "json"], capture_output=True, text=True, check=True).stdout
    cleaner = json.loads(out)[0]["partitions"][0]["cleaner"]
    assert 0 <= cleaner["dirty_ratio"] < 0.5
    assert cleaner["first_dirty_offset"] > 0
    assert cleaner["last_cleaning"]["bytes_read"] > cleaner["last_cleaning"]["bytes_written"] > 0
    text = subprocess.run([KFK, "-b", broker.bootstrap, "topic", "describe", "changelog",
                           "--output", "table"], capture_output=True, text=True, check=True).stdout
    assert "Log cleaner:" in text and "partition 0: dirty" in text and "cleaned" in text

    # Still compacted after a restart, and new versions are cleaned too.
    broker.stop()
    broker.start()
    assert read_partition(broker.bootstrap, "changelog") == records
    produce_all(broker.bootstrap, "changelog", [(b"key-1", b"newest")])
    wait_for(lambda: [r for r in read_partition(broker.bootstrap, "changelog")
                      if r[1] == b"key-1"] == [(keys * versions, b"key-1", b"newest")],
             timeout=30, what="the older key-1 cleaned away", interval=0.5)


def test_tombstones_go_after_delete_retention(make_broker):
    broker = make_broker(*FAST_CLEANER).start()
    create_topic(broker.bootstrap, "users", config={
        "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
        "max.compaction.lag.ms": "500", "delete.retention.ms": "2000"})
    produce_all(broker.bootstrap, "users", [(b"alice", b"1"), (b"bob", b"2"), (b"carol", b"3")])
    produce_all(broker.bootstrap, "users", [(b"bob", None), (b"alice", b"4")])
    # First the older values go while the tombstone stays for consumers to see.
    wait_for(lambda: [(k, v) for _, k, v in read_partition(broker.bootstrap, "users")]
             == [(b"carol", b"3"), (b"bob", None), (b"alice", b"4")],
             timeout=30, what="bob's value replaced by its tombstone", interval=0.3)
    # Then, delete.retention.ms later, the tombstone itself.
    wait_for(lambda: [(k, v) for _, k, v in read_partition(broker.bootstrap, "users")]
             == [(b"carol", b"3"), (b"alice", b"4")],
             timeout=30, what="the tombstone removed", interval=0.3)


def test_tombstones_go_after_a_restart_without_new_writes(make_broker):
    # The deadline of kept tombstones is not stored: after a restart a log cleaned before gets
    # delete.retention.ms from the start, so its tombstones still go with no new records.
    broker = make_broker(*FAST_CLEANER).start()
    create_topic(broker.bootstrap, "accounts", config={
        "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
        "max.compaction.lag.ms": "500", "delete.retention.ms": "3000"})
    produce_all(broker.bootstrap, "accounts", [(b"a", b"1"), (b"b", b"2")])
    produce_all(broker.bootstrap, "accounts", [(b"a", None), (b"c", b"3")])
    wait_for(lambda: [(k, v) for _, k, v in read_partition(broker.bootstrap, "accounts")]
             == [(b"b", b"2"), (b"a", None), (b"c", b"3")],
             timeout=30, what="a's value replaced by its tombstone", interval=0.3)
    broker.stop()
    broker.start()
    wait_for(lambda: [(k, v) for _, k, v in read_partition(broker.bootstrap, "accounts")]
             == [(b"b", b"2"), (b"c", b"3")],
             timeout=30, what="the tombstone removed after the restart", interval=0.3)


def test_records_without_key_are_refused(broker):
    create_topic(broker.bootstrap, "keyed", config={"cleanup.policy": "compact"})
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "retries": 0})
    results = []
    p.produce("keyed", value=b"no key", on_delivery=lambda err, msg: results.append(err))
    p.flush(20)  # one batch each: Kafka refuses a batch whole
    p.produce("keyed", key=b"k", value=b"with key", on_delivery=lambda err, msg: results.append(err))
    assert p.flush(20) == 0
    assert results[0] is not None and results[0].code() == KafkaError.INVALID_RECORD
    assert results[1] is None

    # kafka-python is refused too (Debian's version predates error 87 and calls it unknown).
    from kafka import KafkaProducer
    from kafka.errors import KafkaError as KPError
    kp = KafkaProducer(bootstrap_servers=broker.bootstrap, retries=0)
    try:
        kp.send("keyed", value=b"no key").get(timeout=20)
        raise AssertionError("a keyless record was accepted by a compacted topic")
    except KPError as e:
        assert getattr(e, "errno", None) in (87, -1), repr(e)
    finally:
        kp.close()
    assert [v for _, _, v in read_partition(broker.bootstrap, "keyed")] == [b"with key"]


def test_compacted_topic_with_its_own_codec_checks_keys_and_recompresses(broker):
    # The key check and the recompression share one decode of the batch.
    create_topic(broker.bootstrap, "keyed-zstd",
                 config={"cleanup.policy": "compact", "compression.type": "zstd"})
    for codec in ("none", "gzip", "lz4"):
        p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "retries": 0,
                      "compression.type": codec})
        results = []
        p.produce("keyed-zstd", value=b"no key " + codec.encode(),
                  on_delivery=lambda err, msg: results.append(err))
        p.flush(20)
        p.produce("keyed-zstd", key=codec.encode(), value=b"v-" + codec.encode() * 50,
                  on_delivery=lambda err, msg: results.append(err))
        assert p.flush(20) == 0
        assert results[0] is not None and results[0].code() == KafkaError.INVALID_RECORD, codec
        assert results[1] is None, (codec, results[1])
    assert [(k, v) for _, k, v in read_partition(broker.bootstrap, "keyed-zstd")] == [
        (c.encode(), b"v-" + c.encode() * 50) for c in ("none", "gzip", "lz4")]
    # Every stored batch carries the topic's codec (attributes & 7 == 4 is zstd).
    out = subprocess.run([KFK, "debug", "dump-log", "--output", "json",
                          os.path.join(broker.data_dir, "logs", "keyed-zstd-0",
                                       "00000000000000000000.log")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    batches = json.loads(out.stdout)["batches"]
    assert len(batches) == 3
    assert all(b["compression"] == "zstd" for b in batches), batches


def test_consumer_offsets_are_compacted(make_broker):
    broker = make_broker(*FAST_CLEANER, "--set", "offsets.topic.num.partitions=1",
                         "--set", "log.cleaner.max.compaction.lag.ms=1000",
                         "--set", "log.cleaner.min.cleanable.ratio=0.01",
                         "--set", "group.initial.rebalance.delay.ms=0").start()
    create_topic(broker.bootstrap, "events")
    produce_all(broker.bootstrap, "events", [(b"k", b"v")])
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer",
                  "enable.auto.commit": False})
    try:
        c.committed([TopicPartition("events", 0)], timeout=20)  # waits for the coordinator
        for i in range(2000):
            c.commit(offsets=[TopicPartition("events", 0, i % 2 + 1)], asynchronous=False)
    finally:
        c.close()
    # 2000 commits of one partition shrink to a handful of records (the latest commit and
    # group metadata), and the group still has its offset after a restart.
    wait_for(lambda: len(read_partition(broker.bootstrap, "__consumer_offsets")) < 50,
             timeout=60, what="__consumer_offsets compacted", interval=0.5)
    broker.stop()
    broker.start()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer"})
    try:
        committed = c.committed([TopicPartition("events", 0)], timeout=20)
        assert committed[0].offset == 2
    finally:
        c.close()
