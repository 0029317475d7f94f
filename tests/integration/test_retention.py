"""Retention: segments past retention.ms / retention.bytes are deleted, the log start offset
moves, and consumers at an old offset get OFFSET_OUT_OF_RANGE and reset as configured."""

import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from support import create_topic, wait_for

CHECK_FAST = ("--set", "log.retention.check.interval.ms=100")


def produce(bootstrap, topic, count, timestamp_ms=None, size=10_000):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    for i in range(count):
        kwargs = {"timestamp": timestamp_ms} if timestamp_ms else {}
        p.produce(topic, value=b"%06d" % i + b"x" * size, partition=0, **kwargs)
        p.poll(0)
    assert p.flush(30) == 0


def watermarks(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        c.close()


def first_record_from(bootstrap, topic, offset, reset):
    """Assigns at `offset` and returns the first record's offset or the error the consumer got."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "auto.offset.reset": reset, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                return msg.error()
            return msg.offset()
        raise AssertionError("no record and no error")
    finally:
        c.close()


def test_retention_ms_deletes_old_segments(make_broker):
    b = make_broker(*CHECK_FAST).start()
    create_topic(b.bootstrap, "old", config={"segment.bytes": "1048576", "retention.ms": "60000"})
    day_ago = int(time.time() * 1000) - 86_400_000
    produce(b.bootstrap, "old", 250, timestamp_ms=day_ago)  # 1 MiB segments: 2 full, 1 partly
    produce(b.bootstrap, "old", 5)  # current records: the active segment stays
    low, high = wait_for(lambda: (lambda w: w if w[0] > 0 else None)(watermarks(b.bootstrap, "old")),
                         what="log start offset to move")
    assert high == 255
    assert 0 < low <= 250
    # An old offset is out of range: reset to the earliest, or report the error.
    assert first_record_from(b.bootstrap, "old", 0, "earliest") == low
    err = first_record_from(b.bootstrap, "old", 0, "error")
    assert isinstance(err, KafkaError)
    assert err.code() == KafkaError._AUTO_OFFSET_RESET


def test_retention_bytes_keeps_the_log_small(make_broker):
    b = make_broker(*CHECK_FAST).start()
    create_topic(b.bootstrap, "small", config={"segment.bytes": "1048576", "retention.bytes": "1048576"})
    produce(b.bootstrap, "small", 400)  # about 4 MiB
    low, high = wait_for(lambda: (lambda w: w if w[0] > 200 else None)(watermarks(b.bootstrap, "small")),
                         what="retention.bytes to delete segments")
    assert high == 400
    assert first_record_from(b.bootstrap, "small", low, "error") == low
