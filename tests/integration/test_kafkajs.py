"""kafkajs (the Node.js client) against the broker: its admin client creates and describes a
topic and reads offsets (ListOffsets), its producer sends keyed records with headers with each
codec it supports out of the box, and confluent-kafka reads them back without a group; a
kafkajs consumer in a group reads them too. The npm packages come from tests/integration/js (scripts/install-deps runs `npm ci`)."""

import json
import os
import shutil
import struct
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "js")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not os.path.isdir(os.path.join(JS, "node_modules", "kafkajs")),
    reason="node or kafkajs missing: run scripts/install-deps")

def run_js(*args, timeout=60):
    proc = subprocess.run([NODE, os.path.join(JS, "roundtrip.js"), *args], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"roundtrip.js {args[0]} failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def read_back(bootstrap, topic, ends):
    """Every record of the topic from offset 0 up to `ends` (partition -> high watermark), read
    with assign() so no group is involved."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        got = {p: [] for p in ends}
        deadline = time.monotonic() + 30
        while any(len(got[p]) < ends[p] for p in ends):
            assert time.monotonic() < deadline, f"read {({p: len(v) for p, v in got.items()})}"
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got[msg.partition()].append(msg)
        return got
    finally:
        c.close()


def batch_codecs(log_dir, topic):
    """The compression codec (attributes & 7) of every batch stored for the topic, read from
    the segment files: RecordBatch v2 keeps them at byte 21 of each batch."""
    codecs = []
    for entry in sorted(os.listdir(log_dir)):
        if not entry.startswith(topic + "-"):
            continue
        for name in sorted(os.listdir(os.path.join(log_dir, entry))):
            if not name.endswith(".log"):
                continue
            data = open(os.path.join(log_dir, entry, name), "rb").read()
            pos = 0
            while pos + 61 <= len(data):
                (length,) = struct.unpack_from(">i", data, pos + 8)
                if length <= 0:
                    break
                codecs.append(struct.unpack_from(">h", data, pos + 21)[0] & 7)
                pos += 12 + length
    return codecs


def produce_with_kafkajs(broker, topic):
    out = run_js("produce", broker.bootstrap, topic)
    assert out["created"] is True
    [meta] = out["metadata"]
    assert meta["name"] == topic
    assert sorted(p["partition"] for p in meta["partitions"]) == [0, 1, 2]
    assert all(p["errorCode"] == 0 and p["leader"] >= 0 for p in meta["partitions"])
    return out


def test_kafkajs_admin_and_producer(broker):
    topic = "kafkajs"
    out = produce_with_kafkajs(broker, topic)

    # Every send was acknowledged; the high watermarks count exactly the records sent.
    sent = [(batch["codec"], r) for batch in out["sent"] for r in batch["records"]]
    assert all(r["errorCode"] == 0 for batch in out["sent"] for r in batch["result"])
    ends = {o["partition"]: o["high"] for o in out["offsets"]}
    assert sorted(ends) == [0, 1, 2]
    assert all(o["low"] == 0 for o in out["offsets"])
    assert sum(ends.values()) == len(sent)
    # ListOffsets by timestamp: every record is newer than 0, so the first offset is 0 where
    # the partition has records.
    assert {o["partition"]: o["offset"] for o in out["earliest"]} == {p: 0 for p in ends}

    # Read back without a group: keys, values and headers as kafkajs sent them; records with
    # the same key share a partition and keep their order.
    got = read_back(broker.bootstrap, topic, ends)
    received = []
    for p, msgs in got.items():
        assert [m.offset() for m in msgs] == list(range(ends[p]))
        for m in msgs:
            headers = {k: v.hex() if k == "seq" else v.decode() for k, v in m.headers()}
            key = None if m.key() is None else m.key().decode()
            received.append((p, key, m.value().decode(), headers))
    expected = sorted((r["key"] or "", r["value"], json.dumps(r["headers"], sort_keys=True))
                      for _, r in sent)
    actual = sorted((key or "", value, json.dumps(headers, sort_keys=True))
                    for _, key, value, headers in received)
    assert actual == expected
    key_partitions = {}
    for p, key, _, _ in received:
        if key is not None:
            key_partitions.setdefault(key, set()).add(p)
    assert all(len(ps) == 1 for ps in key_partitions.values())

    # The broker stores the batches as kafkajs compressed them: both codecs are on disk.
    codecs = set(batch_codecs(os.path.join(broker.data_dir, "logs"), topic))
    assert codecs == {0, 1}, f"codecs on disk: {codecs}"


def test_kafkajs_consumer(broker):
    topic = "kafkajs-consume"
    out = produce_with_kafkajs(broker, topic)
    sent = [r for batch in out["sent"] for r in batch["records"]]
    got = run_js("consume", broker.bootstrap, topic, str(len(sent)))["records"]
    assert len(got) == len(sent)
    assert sorted((r["key"] or "", r["value"], json.dumps(r["headers"], sort_keys=True))
                  for r in got) == \
        sorted((r["key"] or "", r["value"], json.dumps(r["headers"], sort_keys=True))
               for r in sent)
    for p in {r["partition"] for r in got}:
        offsets = [r["offset"] for r in got if r["partition"] == p]
        assert offsets == sorted(offsets)
