"""Produce validates every record of a batch, as Kafka's broker does: a batch whose records
lie (lengths, counts, offset deltas, headers), whose compressed bytes are garbage, or that
is a decompression bomb is refused with CORRUPT_MESSAGE or INVALID_RECORD and a message
naming the batch, so that consumers never meet it; the records produced before and after
stay readable by confluent-kafka-python and kcat. zstd needs Produce v7+ and Fetch v10+."""

import gzip
import struct
import subprocess
import time

import lz4.frame
import pytest
import zstandard
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from kafka.record.util import calc_crc32c

from kafka_wire import Wire, array, i16, i32, nbytes, record_batch, string
from support import create_topic

CORRUPT_MESSAGE = 2
INVALID_RECORD = 87
UNSUPPORTED_COMPRESSION_TYPE = 76
CODEC = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def zigzag(v):
    u = (v << 1) ^ (v >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def record(offset_delta, key=b"k", value=b"v", headers=b"\x00", length=None):
    """One record (its body after the length); `headers` is the raw count and headers."""
    body = (b"\x00" + zigzag(0) + zigzag(offset_delta) + zigzag(len(key)) + key
            + zigzag(len(value)) + value + headers)
    return zigzag(len(body) if length is None else length) + body


def batch(records_section, count, codec=0, last_delta=None):
    """A v2 batch around a records section (already compressed as `codec` says), CRC correct."""
    now = int(time.time() * 1000)
    last_delta = count - 1 if last_delta is None else last_delta
    after_crc = (struct.pack(">hiqqqhii", codec, last_delta, now, now, -1, -1, -1, count)
                 + records_section)
    crc = calc_crc32c(after_crc)
    body = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def zstd_bomb():
    """1 GiB of zeros in about 32 KiB of zstd, streamed so the test never holds it."""
    c = zstandard.ZstdCompressor(level=1).compressobj()
    zeros = bytes(1 << 20)
    out = b"".join(c.compress(zeros) for _ in range(1024)) + c.flush()
    assert len(out) < 64 * 1024
    return out


def bad_batches():
    """(name, batch bytes, expected error code, words the message must hold)."""
    garbage = bytes((i * 73 + 41) % 256 for i in range(600))
    two = record(0) + record(1)
    yield "lying length", batch(record(0) + record(1, length=200), 2), INVALID_RECORD, \
        "record length"
    yield "count too high", batch(two, 3), INVALID_RECORD, "recordsCount"
    yield "count too low", batch(two, 1), INVALID_RECORD, "after the last"
    yield "offset deltas", batch(record(0) + record(2), 2), INVALID_RECORD, "offsetDelta"
    yield "truncated headers", batch(record(0, headers=zigzag(2) + zigzag(1) + b"h" + zigzag(1)),
                                     1), INVALID_RECORD, "header"
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        yield f"garbage as {codec}", batch(garbage, 2, CODEC[codec]), CORRUPT_MESSAGE, codec
    yield "gzip of garbage records", batch(gzip.compress(garbage), 5, CODEC["gzip"]), \
        INVALID_RECORD, "record"
    yield "lz4 of garbage records", batch(lz4.frame.compress(garbage), 5, CODEC["lz4"]), \
        INVALID_RECORD, "record"
    yield "zstd bomb", batch(zstd_bomb(), 1, CODEC["zstd"]), INVALID_RECORD, "record"


def produce_v8(wire, topic, partition, data, version=8):
    """Produce with the v8 answer: error, error_message and record_errors of the partition."""
    body = string(None) + i16(-1) + i32(30000) + array(
        [topic], lambda t: string(t) + array([partition], lambda p: i32(p) + nbytes(data)))
    r = wire.call(0, version, body)

    def part(r):
        out = {"partition": r.i32(), "error": r.i16(), "base_offset": r.i64(),
               "log_append_time": r.i64()}
        if version >= 5:
            out["log_start_offset"] = r.i64()
        if version >= 8:
            out["record_errors"] = r.array(lambda r: (r.i32(), r.string()))
            out["error_message"] = r.string()
        return out

    return r.array(lambda r: (r.string(), r.array(part)))[0][1][0]


def consume_confluent(bootstrap, topic, expected, timeout=30.0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "auto.offset.reset": "error"})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in c.consume(100, 0.5):
                assert m.error() is None, m.error()
                out.append(m.value())
    finally:
        c.close()
    return out


def consume_kcat(bootstrap, topic):
    out = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-p", "0", "-o",
                          "beginning", "-e", "-q", "-f", "%s\n"],
                         capture_output=True, timeout=60, check=True)
    return out.stdout.decode().splitlines()


def test_bad_batches_are_refused_and_consumers_read_past_them(broker):
    topic = "validated"
    create_topic(broker.bootstrap, topic)
    w = Wire(broker.bootstrap)
    values = []
    try:
        for i in range(3):
            v = f"before-{i}".encode()
            assert produce_v8(w, topic, 0, record_batch([(b"k", v)]))["error"] == 0
            values.append(v)
        for name, data, code, words in bad_batches():
            r = produce_v8(w, topic, 0, data)
            assert r["error"] == code, (name, r)
            message = r["error_message"] or ""
            assert f"partition {topic}-0" in message and "base offset 0" in message, (name, r)
            assert words in message, (name, r)
        for i in range(3):
            v = f"after-{i}".encode()
            assert produce_v8(w, topic, 0, record_batch([(b"k", v)]))["error"] == 0
            values.append(v)
    finally:
        w.close()
    assert consume_confluent(broker.bootstrap, topic, len(values)) == values
    assert consume_kcat(broker.bootstrap, topic) == [v.decode() for v in values]


def test_well_formed_batches_in_every_codec_are_accepted(broker):
    from confluent_kafka import Producer
    topic = "codecs"
    create_topic(broker.bootstrap, topic)
    expected = []
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec,
                      "linger.ms": 50})
        errors = []
        for i in range(200):
            v = f"{codec}-{i}-{'x' * (i * 13 % 700)}".encode()
            expected.append(v)
            p.produce(topic, v, key=b"k%d" % i, headers=[("h", b"x")] if i % 2 else None,
                      on_delivery=lambda e, m: errors.append(e) if e else None)
        assert p.flush(30) == 0
        assert errors == []
    assert consume_confluent(broker.bootstrap, topic, len(expected)) == expected


def test_zstd_needs_produce_v7(broker):
    topic = "zstd-versions"
    create_topic(broker.bootstrap, topic)
    section = zstandard.ZstdCompressor().compress(record(0))
    w = Wire(broker.bootstrap)
    try:
        for version in (3, 5, 6):
            r = produce_v8(w, topic, 0, batch(section, 1, CODEC["zstd"]), version=version)
            assert r["error"] == UNSUPPORTED_COMPRESSION_TYPE, (version, r)
        r = produce_v8(w, topic, 0, batch(section, 1, CODEC["zstd"]), version=7)
        assert r["error"] == 0, r
        # gzip is fine at any version.
        r = produce_v8(w, topic, 0, batch(gzip.compress(record(0)), 1, CODEC["gzip"]), version=3)
        assert r["error"] == 0, r
    finally:
        w.close()


@pytest.mark.parametrize("version", [4, 9, 10])
def test_zstd_is_served_from_fetch_v10(broker, version):
    topic = f"zstd-fetch-{version}"
    create_topic(broker.bootstrap, topic)
    w = Wire(broker.bootstrap)
    try:
        section = zstandard.ZstdCompressor().compress(record(0))
        assert produce_v8(w, topic, 0, batch(section, 1, CODEC["zstd"]))["error"] == 0
        resp = w.fetch([(topic, 0, 0, 1 << 20)], version=version)
        part = resp["topics"][topic][0]
        if version < 10:
            assert part["error"] == UNSUPPORTED_COMPRESSION_TYPE, part
            assert not part["records"]
        else:
            assert part["error"] == 0 and part["records"], part
    finally:
        w.close()
