"""Damage in the middle of a partition's log: 64 flipped bytes in a sealed segment cost the
records they hit and nothing else. After a clean restart and after kill -9 (with recovery
scanning every segment) the segments after the damage stay, records on both sides read with
confluent-kafka-python, a fetch at the damaged offsets gets CORRUPT_MESSAGE (not a stall),
`kfk topic describe` shows the range, `kfk debug verify-log` finds it, and `kfk topic trim`
past it leaves a partition that reads from its start."""

import json
import os
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from support import create_topic, flip_bytes, kfk, verify_log

TOPIC = "damaged"
RECORDS = 5000
CORRUPT_MESSAGE = 2  # librdkafka calls it KafkaError.INVALID_MSG


def value_of(i):
    return f"{i:05d}".encode() + b"x" * 995  # 1 KB: 5,000 records fill five 1 MiB segments


def produce(bootstrap):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 16384,
                  "compression.type": "none"})
    for i in range(RECORDS):
        p.produce(TOPIC, value_of(i), partition=0)
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0


def consume(bootstrap, start, stop_before, timeout=30):
    """Offsets and values from `start` up to (not including) offset `stop_before`."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "check.crcs": True,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(TOPIC, 0, start)])
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue  # the damaged batch itself fails the client's CRC check
            if msg.offset() >= stop_before:
                break
            got.append((msg.offset(), msg.value()))
            if msg.offset() == stop_before - 1:
                break
        return got
    finally:
        c.close()


def fetch_error_at(bootstrap, offset, timeout=30):
    """The first error a consumer assigned at `offset` gets; fails on a record or a stall."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(TOPIC, 0, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is not None, f"a record at offset {msg.offset()}"
            return msg.error()
        raise AssertionError(f"no error within {timeout}s for a fetch at offset {offset}")
    finally:
        c.close()


def describe(bootstrap):
    r = kfk("-o", "json", "topic", "describe", TOPIC, bootstrap=bootstrap)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]["partitions"][0]


@pytest.mark.parametrize("restart", ["clean", "kill-9"])
def test_damage_in_a_sealed_segment_costs_only_the_records_it_hits(make_broker, tmp_path,
                                                                   restart):
    b = make_broker().start()
    create_topic(b.bootstrap, TOPIC, 1, {"segment.bytes": str(1 << 20)})
    produce(b.bootstrap)
    assert b.stop() == 0

    logs = tmp_path / "logs"
    pdir = logs / f"{TOPIC}-0"
    segments = sorted(p.name for p in pdir.glob("*.log"))
    assert len(segments) >= 4
    victim = pdir / segments[len(segments) // 2]  # sealed: later segments follow
    at = victim.stat().st_size // 2
    flip_bytes(victim, at, 64)

    # verify-log finds it, from the partition directory and from the log dir.
    [part] = [p for p in verify_log(logs) if p["topic"] == TOPIC]
    assert verify_log(pdir) == [part]
    assert not part["ok"] and len(part["damaged"]) == 1
    damage = part["damaged"][0]
    assert damage["segment"].endswith(victim.name) and not damage["torn_tail"]
    assert damage["start_position"] <= at and at + 64 <= damage["end_position"]
    first, nxt = damage["first_offset"], damage["next_offset"]
    assert 0 < first < nxt < RECORDS and nxt - first <= 64

    if restart == "kill-9":
        b = make_broker(data_dir=tmp_path).start()
        b.kill()
        # A crash before the recovery points were checkpointed: recovery reads every segment.
        os.remove(logs / "recovery-point-offset-checkpoint")
    b = make_broker(data_dir=tmp_path).start()
    if restart == "kill-9":
        log = open(b.log_path).read()
        assert f"{victim.name}: bytes {damage['start_position']}.." in log, log[-3000:]

    # Nothing else is lost: every segment stays, and both sides read.
    assert sorted(p.name for p in pdir.glob("*.log")) == segments
    after = consume(b.bootstrap, nxt, RECORDS)
    assert after == [(o, value_of(o)) for o in range(nxt, RECORDS)]
    before = consume(b.bootstrap, 0, first)
    assert before == [(o, value_of(o)) for o in range(first)]

    # A fetch at the damaged offsets gets an error, not a stall.
    for offset in (first, nxt - 1):
        err = fetch_error_at(b.bootstrap, offset)
        assert err.code() == CORRUPT_MESSAGE, err

    # describe shows the range with the way past it.
    p = describe(b.bootstrap)
    assert [(d["first_offset"], d["next_offset"]) for d in p["damaged"]] == [(first, nxt)]
    assert p["damaged"][0]["start_position"] == damage["start_position"]
    text = kfk("-o", "table", "topic", "describe", TOPIC, bootstrap=b.bootstrap).stdout
    assert f"offsets {first}..{nxt - 1}" in text
    assert f"kfk topic trim {TOPIC} -p 0 --offset {nxt}" in text

    # What was found is kept beside the segment: after a clean restart, which trusts every
    # segment and reads none, describe shows the range before any read reaches it.
    assert b.stop() == 0
    b = make_broker(data_dir=tmp_path).start()
    p = describe(b.bootstrap)
    assert [(d["first_offset"], d["next_offset"]) for d in p["damaged"]] == [(first, nxt)]
    assert (pdir / victim.name.replace(".log", ".damaged")).exists()

    # The way past it: trim to the next good offset, then the partition reads from its start.
    r = kfk("topic", "trim", TOPIC, "-p", "0", "--offset", str(nxt), "--yes",
            bootstrap=b.bootstrap)
    assert r.returncode == 0, r.stderr
    p = describe(b.bootstrap)
    assert p["damaged"] == [] and p["earliest_offset"] == nxt
    assert consume(b.bootstrap, OFFSET_BEGINNING, RECORDS) == \
        [(o, value_of(o)) for o in range(nxt, RECORDS)]
