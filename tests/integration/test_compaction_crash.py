"""kill -9 during log cleaning, 20 rounds: after every restart each record read is the one
acknowledged at its offset, offsets increase, and the latest value of every key is there."""

import os
import random
import time

from support import create_topic, wait_for
from test_compaction import produce_all, read_partition

ROUNDS = 20
KEYS = 2000
RECORDS_PER_ROUND = 12_000


def cleaner_files(broker):
    d = os.path.join(broker.data_dir, "logs", "state-0")
    try:
        return [f for f in os.listdir(d) if f.endswith(".cleaned") or f.endswith(".swap")]
    except FileNotFoundError:
        return []


def check_consistent(records, acknowledged):
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets do not strictly increase"
    for offset, key, value in records:
        assert acknowledged.get(offset) == (key, value), f"offset {offset} holds another record"
    latest = {}
    for offset, (key, _) in acknowledged.items():
        latest[key] = max(latest.get(key, -1), offset)
    present = set(offsets)
    missing = [o for o in latest.values() if o not in present]
    assert not missing, f"latest records lost at offsets {missing[:10]}"


def test_kill_9_during_cleaning(make_broker):
    rng = random.Random(4)
    # 3 MB/s of cleaner I/O stretches each cleaning over a second or more.
    broker = make_broker("-v", "--set", "log.cleaner.backoff.ms=50",
                         "--set", "log.cleaner.io.max.bytes.per.second=3000000").start()
    create_topic(broker.bootstrap, "state", config={
        "cleanup.policy": "compact", "segment.bytes": "1048576",
        "min.cleanable.dirty.ratio": "0.01"})
    acknowledged = {}
    killed_while_cleaning = 0
    for round_no in range(ROUNDS):
        items = [(f"key-{rng.randrange(KEYS)}".encode(), f"r{round_no}-{i}-".encode() + b"x" * 150)
                 for i in range(RECORDS_PER_ROUND)]
        offsets = produce_all(broker.bootstrap, "state", items, acks="all")
        acknowledged.update({o: kv for o, kv in zip(offsets, items)})
        # Kill at a random moment of the cleaning that the new data started.
        wait_for(lambda: cleaner_files(broker), timeout=30, what="a cleaning to start",
                 interval=0.005)
        time.sleep(rng.uniform(0, 1.2))
        if cleaner_files(broker):
            killed_while_cleaning += 1
        broker.kill()
        broker.start()
        assert not [f for f in cleaner_files(broker) if f.endswith(".cleaned")]
        check_consistent(read_partition(broker.bootstrap, "state"), acknowledged)
    assert killed_while_cleaning >= 5, f"only {killed_while_cleaning} kills hit a cleaning"
    # Once left alone the log compacts to one record per key.
    wait_for(lambda: len(read_partition(broker.bootstrap, "state")) <= KEYS + 6000,
             timeout=120, what="the log compacted", interval=1)
    check_consistent(read_partition(broker.bootstrap, "state"), acknowledged)
