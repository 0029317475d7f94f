"""Damage in the middle of the broker's own logs.

__consumer_offsets: a damaged batch (its records, or its framing) between intact ones, found
after a clean restart or by the recovery after kill -9, costs only the commits it held. The
broker starts, logs one error naming the partition and the offsets, loads every commit before
and after it (checked with OffsetFetch from confluent-kafka), keeps serving the groups, and
new commits survive the next restart.

The metadata log: a damaged batch that valid ones follow stops the start with the exit code
for damaged data and an error naming the file, the bytes and what to do, without touching
the topics' logs; a torn tail (the last batch cut short) is still cut off by recovery."""

import json
import os
import subprocess

import pytest
from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from support import (EXIT_DAMAGED, create_topic, flip_bytes, kfk, segment_batches, verify_log,
                     wait_for)

TOPIC = "events"
BATCH_HEADER = 61


def damage(segment, batch, kind):
    """Damages one batch: its records (the CRC fails, the framing holds) or its length field
    (the framing fails)."""
    position, size, _, _ = batch
    if kind == "records":
        flip_bytes(segment, position + BATCH_HEADER, min(16, size - BATCH_HEADER))
    else:
        flip_bytes(segment, position + 8, 4)


# --- __consumer_offsets -------------------------------------------------------------------

GROUP_SETTINGS = ("--set", "offsets.topic.num.partitions=1",
                  "--set", "group.initial.rebalance.delay.ms=0")


def consumer(bootstrap, group):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False})


def commit(bootstrap, group, offsets):
    """Commits {partition: offset} of TOPIC for `group` in one OffsetCommit (one batch)."""
    c = consumer(bootstrap, group)
    try:
        c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in offsets.items()],
                 asynchronous=False)
    finally:
        c.close()


def committed(bootstrap, groups):
    """{group: {partition: offset}} by OffsetFetch; OFFSET_INVALID where nothing is committed.
    Fails on an error or a coordinator still loading after the timeout."""
    out = {}
    for group in groups:
        c = consumer(bootstrap, group)
        try:
            tps = c.committed([TopicPartition(TOPIC, p) for p in (0, 1)], timeout=20)
            out[group] = {tp.partition: tp.offset for tp in tps}
        finally:
            c.close()
    return out


def offsets_segment(data_dir):
    [segment] = (data_dir / "logs" / "__consumer_offsets-0").glob("*.log")
    return segment


@pytest.mark.parametrize("kind", ["records", "framing"])
@pytest.mark.parametrize("restart", ["clean", "kill-9"])
def test_a_damaged_offsets_batch_costs_only_its_commits(make_broker, tmp_path, restart, kind):
    b = make_broker(*GROUP_SETTINGS).start()
    create_topic(b.bootstrap, TOPIC, 2)
    commits = [(f"before-{i}", {0: 10 + i, 1: 20 + i}) for i in range(8)]
    commits += [("victim", {0: 111}), ("victim", {0: 555, 1: 666})]
    commits += [(f"after-{i}", {0: 30 + i, 1: 40 + i}) for i in range(8)]
    commits += [("before-0", {0: 99})]
    victim_index = 9
    for group, offsets in commits:
        commit(b.bootstrap, group, offsets)
    assert b.stop() == 0

    # One batch per commit, in order: the victim batch holds the victim's second commit.
    segment = offsets_segment(tmp_path)
    batches = segment_batches(segment)
    assert len(batches) == len(commits), batches
    victim = batches[victim_index]
    _, _, first, last = victim
    assert last - first + 1 == 2
    damage(segment, victim, kind)

    if restart == "kill-9":
        b = make_broker(*GROUP_SETTINGS).start()
        b.kill()
        # A crash before the recovery points were checkpointed: recovery reads every batch.
        os.remove(tmp_path / "logs" / "recovery-point-offset-checkpoint")

    # Intact commits all load; the victim's damaged commit is lost: partition 0 falls back to
    # its commit before, partition 1 (committed only there) has none (auto.offset.reset).
    expected = {f"before-{i}": {0: 10 + i, 1: 20 + i} for i in range(8)}
    expected["before-0"][0] = 99
    expected.update({f"after-{i}": {0: 30 + i, 1: 40 + i} for i in range(8)})
    expected["victim"] = {0: 111, 1: OFFSET_INVALID}

    def restart_and_check():
        broker = make_broker(*GROUP_SETTINGS).start()
        assert committed(broker.bootstrap, sorted(expected)) == expected
        log = open(broker.log_path).read()
        errors = [line for line in log.splitlines()
                  if f"__consumer_offsets-0: offsets {first}..{last} are damaged" in line]
        assert len(errors) == 1, log[-4000:]
        assert "auto.offset.reset" in errors[0]
        return broker

    open(tmp_path / "broker.log", "w").close()
    b = restart_and_check()

    # The coordinator keeps serving: new commits to that partition work and survive a restart.
    commit(b.bootstrap, "victim", {1: 777})
    commit(b.bootstrap, "after-0", {0: 1234})
    commit(b.bootstrap, "new-group", {0: 5, 1: 6})
    expected["victim"][1] = 777
    expected["after-0"][0] = 1234
    expected["new-group"] = {0: 5, 1: 6}
    assert committed(b.bootstrap, sorted(expected)) == expected
    assert b.stop() == 0
    open(tmp_path / "broker.log", "w").close()
    b = restart_and_check()
    assert b.stop() == 0


# --- the metadata log ---------------------------------------------------------------------

# No snapshot by time: the whole metadata log is replayed at start.
METADATA_SETTINGS = ("--set", "metadata.log.max.snapshot.interval.ms=0")


def metadata_segment(data_dir):
    [segment] = (data_dir / "logs" / "__cluster_metadata-0").glob("*.log")
    return segment


def topics_on_disk(data_dir):
    return sorted(p.name for p in (data_dir / "logs").iterdir()
                  if p.is_dir() and p.name.startswith("topic-"))


def make_topics(make_broker, count):
    b = make_broker(*METADATA_SETTINGS).start()
    for i in range(count):  # one CreateTopics, one metadata batch, each
        create_topic(b.bootstrap, f"topic-{i}", 1)
    assert b.stop() == 0
    return b


def topic_names(bootstrap):
    r = kfk("-o", "json", "topic", "list", bootstrap=bootstrap)
    assert r.returncode == 0, r.stderr
    return sorted(t["name"] for t in json.loads(r.stdout))


@pytest.mark.parametrize("kind", ["records", "framing"])
def test_damage_in_the_metadata_log_stops_the_start(make_broker, tmp_path, kind):
    b = make_topics(make_broker, 8)
    before = topics_on_disk(tmp_path)
    assert len(before) == 8
    segment = metadata_segment(tmp_path)
    batches = segment_batches(segment)
    victim = batches[len(batches) // 2]
    assert victim is not batches[-1]
    position, size = victim[0], victim[1]
    damage(segment, victim, kind)

    r = subprocess.run(b.command(), capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == EXIT_DAMAGED, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "kfk broker ready" not in r.stdout
    err = r.stderr
    assert str(segment) in err, err
    assert f"bytes {position}.." in err, err
    assert f"kfk debug verify-log {segment.parent}" in err, err
    assert "backup" in err, err
    # Nothing was served from a partial image, and no topic's log was deleted.
    assert topics_on_disk(tmp_path) == before

    # verify-log finds the same range.
    [report] = verify_log(segment.parent)
    [found] = report["damaged"]
    assert found["start_position"] == position and not found["torn_tail"]
    assert found["end_position"] == position + size


def test_a_torn_tail_of_the_metadata_log_is_cut(make_broker, tmp_path):
    make_topics(make_broker, 4)
    segment = metadata_segment(tmp_path)
    position, size, _, _ = segment_batches(segment)[-1]
    os.truncate(segment, position + size // 2)  # the last operation was never committed

    b = make_broker(*METADATA_SETTINGS).start()
    assert topic_names(b.bootstrap) == ["topic-0", "topic-1", "topic-2"]
    create_topic(b.bootstrap, "topic-3", 1)
    assert topic_names(b.bootstrap) == [f"topic-{i}" for i in range(4)]


def test_damage_a_snapshot_covers_is_never_read(make_broker, tmp_path):
    # A snapshot after every operation: the newest one ends past every batch but the last.
    settings = ("--set", "metadata.log.max.record.bytes.between.snapshots=1")
    b = make_broker(*settings).start()
    for i in range(6):
        create_topic(b.bootstrap, f"topic-{i}", 1)
    segment = metadata_segment(tmp_path)
    victim = segment_batches(segment)[2]
    victim_last = victim[3]

    def snapshot_ends():
        return [int(p.name.split("-")[0]) for p in segment.parent.glob("*.checkpoint")]

    wait_for(lambda: any(end > victim_last for end in snapshot_ends()), what="a snapshot")
    assert b.stop() == 0
    damage(segment, victim, "records")

    b = make_broker(*settings).start()
    assert topic_names(b.bootstrap) == [f"topic-{i}" for i in range(6)]
    assert topics_on_disk(tmp_path) == [f"topic-{i}-0" for i in range(6)]
