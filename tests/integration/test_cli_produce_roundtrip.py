"""The JSON round trip: `kfk consume --format json` piped into `kfk produce --format json`
copies a topic byte-exact: keys, values (binary, empty, null, JSON, text that looks like
JSON), headers (null and binary values, repeated keys), timestamps and partitions. Both
topics are read back with confluent_kafka."""

import subprocess
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

import support
from conftest import KFK

RECORDS = [
    {"key": b"plain", "value": b"hello world"},
    {"key": None, "value": b'{"n": 1, "list": [1, 2.50, "x"], "nested": {"a": null}}'},
    {"key": b"", "value": b""},
    {"key": b"tomb", "value": None},
    {"key": b"\x00\xff\xfe binary key", "value": bytes(range(256))},
    {"key": b"json-string", "value": b'"just a string"'},
    {"key": b"null-text", "value": b"null"},
    {"key": b"number", "value": b"-12.5e3"},
    {"key": b"true", "value": b"true"},
    {"key": b"spaces", "value": b" {\"a\":1} "},
    {"key": b"multi-line", "value": b'{\n  "pretty": true\n}'},
    {"key": b"control", "value": b"tab\there\r\nnewline \x01 \x7f"},
    {"key": "unicode \u00e9\u20ac\U0001f600".encode(), "value": "\u2028 line sep".encode()},
    {"key": b"latin1", "value": b"caf\xe9"},  # not UTF-8
    {"key": b"bad-json", "value": b'{"unterminated": '},
    {"key": b"hdrs", "value": b"v", "headers": [("a", b"1"), ("a", b"2"), ("nul", None),
                                               ("bin", b"\x00\x80\xff"), ("empty", b""),
                                               ("json", b'{"x":1}')]},
]


def kfk(broker, *args, stdin=None):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          timeout=60)


def read_all(broker, topic, partitions, expected, timeout=30.0):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, 0.2):
                assert m.error() is None, m.error()
                out.append(m)
    finally:
        c.close()
    assert len(out) == expected
    return sorted(out, key=lambda m: (m.partition(), m.offset()))


def as_tuple(m):
    return (m.partition(), m.key(), m.value(), m.headers() or [], m.timestamp())


def test_consume_json_into_produce_json_is_byte_exact(broker):
    support.create_topic(broker.bootstrap, "source", 3)
    support.create_topic(broker.bootstrap, "copy", 3)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i, r in enumerate(RECORDS):
        p.produce("source", key=r["key"], value=r["value"], headers=r.get("headers"),
                  partition=i % 3, timestamp=1_700_000_000_000 + i * 1111)
    assert p.flush(30) == 0

    dumped = kfk(broker, "consume", "source", "-o", ":end", "--format", "json")
    assert dumped.returncode == 0, dumped.stderr
    assert dumped.stdout.count(b"\n") == len(RECORDS)
    loaded = kfk(broker, "produce", "copy", "--format", "json", stdin=dumped.stdout)
    assert loaded.returncode == 0, loaded.stderr

    source = read_all(broker, "source", 3, len(RECORDS))
    copy = read_all(broker, "copy", 3, len(RECORDS))
    assert [as_tuple(m) for m in copy] == [as_tuple(m) for m in source]
    # And the copy dumps to the same lines, but for the topic name.
    again = kfk(broker, "consume", "copy", "-o", ":end", "--format", "json")
    renamed = again.stdout.replace(b'"topic":"copy"', b'"topic":"source"')
    assert sorted(renamed.splitlines()) == sorted(dumped.stdout.splitlines())


def test_copy_into_a_smaller_topic_places_records_by_key(broker):
    """A topic piped into one with fewer partitions (one auto-created, say): records of the
    partitions it lacks go where their key puts them, said once on stderr; --keep-partition
    refuses them, naming the input line."""
    support.create_topic(broker.bootstrap, "wide", 3)
    support.create_topic(broker.bootstrap, "narrow", 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(9):
        p.produce("wide", key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 3)
    assert p.flush(30) == 0
    dumped = kfk(broker, "consume", "wide", "-o", ":end", "--format", "json")
    assert dumped.returncode == 0, dumped.stderr
    lines = dumped.stdout.splitlines()
    first_missing = next(n for n, line in enumerate(lines, 1) if b'"partition":0' not in line)

    refused = kfk(broker, "produce", "narrow", "--format", "json", "--keep-partition",
                  stdin=dumped.stdout)
    assert refused.returncode == 1
    err = refused.stderr.decode()
    assert f"bad input at line {first_missing}: partition " in err
    assert "topic 'narrow' has 1 partition" in err and "hint: " in err
    assert err.count("\n") == 2  # the error and its hint, once

    # The records before the refused line were still written.
    before = first_missing - 1
    loaded = kfk(broker, "produce", "narrow", "--format", "json", stdin=dumped.stdout)
    assert loaded.returncode == 0, loaded.stderr
    err = loaded.stderr.decode()
    assert err.count("placed by key") == 1, err
    assert "topic 'narrow' has 1 partition" in err
    got = read_all(broker, "narrow", 1, before + 9)
    assert sorted(m.value() for m in got[before:]) == sorted(f"v{i}".encode() for i in range(9))
