"""Durability: what the broker acknowledged survives kill -9 and restart, producer state
included, and idempotent retries never duplicate records."""

import os
import signal
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from support import create_topic, free_port, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def read_all(bootstrap, topic, partitions):
    """Every record of every partition, from the start to the high watermark."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        records = {p: [] for p in range(partitions)}
        ends = {}
        for p in range(partitions):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        done = {p for p in range(partitions) if ends[p] == 0}
        deadline = time.monotonic() + 60
        while len(done) < partitions and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    if msg.offset() >= ends[msg.partition()]:
                        done.add(msg.partition())
                    continue
                raise AssertionError(msg.error())
            records[msg.partition()].append((msg.offset(), msg.value().decode()))
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        assert len(done) == partitions, "could not read every partition to its end"
        return records
    finally:
        c.close()


def test_acknowledged_records_survive_repeated_kill_9(make_broker, tmp_path):
    topic, partitions = "crash", 2
    flush = ("--set", "log.flush.interval.messages=1")
    b = make_broker(*flush).start()
    create_topic(b.bootstrap, topic, partitions)
    ack_path = str(tmp_path / "acks.txt")
    open(ack_path, "w").close()
    rounds = 20
    for round_no in range(rounds):
        if round_no > 0:
            b = make_broker(*flush, data_dir=tmp_path).start()
        before = sum(1 for _ in open(ack_path))
        producer = subprocess.Popen([PYTHON, os.path.join(HERE, "crash_producer.py"), b.bootstrap,
                                     topic, str(round_no * 10_000_000), ack_path])
        try:
            # Let some records be acknowledged, then pull the plug mid-stream.
            wait_for(lambda: sum(1 for _ in open(ack_path)) >= before + 200 + round_no * 20,
                     what=f"acknowledgements in round {round_no}")
            b.kill()
        finally:
            producer.send_signal(signal.SIGKILL)
            producer.wait()

    b = make_broker(data_dir=tmp_path).start()
    records = read_all(b.bootstrap, topic, partitions)
    acked = [line.split() for line in open(ack_path)]
    assert len(acked) >= rounds * 200
    by_offset = {p: dict(records[p]) for p in records}
    for value, partition, offset in acked:
        assert by_offset[int(partition)].get(int(offset)) == value, \
            f"acknowledged record {value} at {partition}/{offset} was lost"
    for p, recs in records.items():
        offsets = [o for o, _ in recs]
        assert offsets == list(range(len(offsets))), f"partition {p}: offsets are not contiguous"
    values = [v for recs in records.values() for _, v in recs]
    assert len(values) == len(set(values)), "a record was written twice"


def test_data_and_producer_state_survive_clean_restart(make_broker, tmp_path):
    # A fixed port, so that the producer finds the broker again after the restart.
    listener = ("--set", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}")
    b = make_broker(*listener).start()
    create_topic(b.bootstrap, "restart", 3, config={"retention.ms": "86400000"})
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "acks": "all",
                  "message.timeout.ms": 60000, "reconnect.backoff.ms": 20,
                  "reconnect.backoff.max.ms": 200})
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)

    for i in range(3000):
        p.produce("restart", value=f"a{i}".encode(), partition=i % 3, on_delivery=report)
    assert p.flush(30) == 0
    assert b.stop() == 0
    # The same producer goes on after the restart: its sequence numbers must be accepted.
    b2 = make_broker(*listener, data_dir=tmp_path).start()
    for i in range(3000):
        p.produce("restart", value=f"b{i}".encode(), partition=i % 3, on_delivery=report)
    assert p.flush(60) == 0
    assert errors == []
    records = read_all(b2.bootstrap, "restart", 3)
    for part in range(3):
        values = [v for _, v in records[part]]
        assert values == [f"a{i}" for i in range(part, 3000, 3)] + [f"b{i}" for i in range(part, 3000, 3)]
