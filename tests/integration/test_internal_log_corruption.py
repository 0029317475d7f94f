"""Damage in the middle of the broker's own logs.

__consumer_offsets: a damaged batch (its records, or its framing) between intact ones, found
after a clean restart or by the recovery after kill -9, costs only the commits it held. The
broker starts, logs one error naming the partition and the offsets, loads every commit before
and after it (checked with OffsetFetch from confluent-kafka), keeps serving the groups, and
new commits survive the next restart. In a sealed segment the cleaner meets it and leaves the
partition uncleanable, losing nothing.

The metadata log: a damaged batch that valid ones follow stops the start with the exit code
for damaged data and an error naming the file, the bytes and what to do, without touching
the topics' logs; damage that a snapshot covers is never read; a torn tail (the last batch
cut short) is still cut off by recovery."""

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


def offsets_batches(data_dir):
    """(segment file, batch) of every batch of __consumer_offsets-0, in offset order."""
    segments = sorted((data_dir / "logs" / "__consumer_offsets-0").glob("*.log"))
    return [(segment, batch) for segment in segments for batch in segment_batches(segment)]


# One OffsetCommit, one batch each. The victim's second commit is the one damaged.
COMMITS = ([(f"before-{i}", {0: 10 + i, 1: 20 + i}) for i in range(8)]
           + [("victim", {0: 111}), ("victim", {0: 555, 1: 666})]
           + [(f"after-{i}", {0: 30 + i, 1: 40 + i}) for i in range(8)]
           + [("before-0", {0: 99})])
VICTIM_INDEX = 9


def expected_after_damage():
    """Intact commits all load; the victim's damaged commit is lost: its partition 0 falls back
    to the commit before, its partition 1 (committed only there) has none: auto.offset.reset."""
    expected = {f"before-{i}": {0: 10 + i, 1: 20 + i} for i in range(8)}
    expected["before-0"][0] = 99
    expected.update({f"after-{i}": {0: 30 + i, 1: 40 + i} for i in range(8)})
    expected["victim"] = {0: 111, 1: OFFSET_INVALID}
    return expected


def commit_then_damage(make_broker, data_dir, settings, kind):
    """Makes the commits, stops the broker, damages the victim's batch; its first and last
    offsets, and the segments, first to last."""
    b = make_broker(*settings).start()
    create_topic(b.bootstrap, TOPIC, 2)
    for group, offsets in COMMITS:
        commit(b.bootstrap, group, offsets)
    assert b.stop() == 0
    batches = offsets_batches(data_dir)
    assert len(batches) == len(COMMITS), batches
    segment, victim = batches[VICTIM_INDEX]
    _, _, first, last = victim
    assert last - first + 1 == 2
    damage(segment, victim, kind)
    return first, last, [s for s, _ in batches]


def start_and_check(make_broker, data_dir, settings, expected, first, last):
    """Starts the broker on a fresh log file: it serves every commit expected, and logged the
    damaged offsets once."""
    open(data_dir / "broker.log", "w").close()
    broker = make_broker(*settings).start()
    assert committed(broker.bootstrap, sorted(expected)) == expected
    log = open(broker.log_path).read()
    errors = [line for line in log.splitlines()
              if f"__consumer_offsets-0: offsets {first}..{last} are damaged" in line]
    assert len(errors) == 1, log[-4000:]
    assert "auto.offset.reset" in errors[0]
    return broker


def commit_more(b, expected):
    """The coordinator keeps serving: new commits to the damaged partition work."""
    for group, offsets in [("victim", {1: 777}), ("after-0", {0: 1234}),
                           ("new-group", {0: 5, 1: 6})]:
        commit(b.bootstrap, group, offsets)
        expected.setdefault(group, {0: OFFSET_INVALID, 1: OFFSET_INVALID}).update(offsets)
    assert committed(b.bootstrap, sorted(expected)) == expected


@pytest.mark.parametrize("kind", ["records", "framing"])
@pytest.mark.parametrize("restart", ["clean", "kill-9"])
def test_a_damaged_offsets_batch_costs_only_its_commits(make_broker, tmp_path, restart, kind):
    first, last, _ = commit_then_damage(make_broker, tmp_path, GROUP_SETTINGS, kind)
    if restart == "kill-9":
        b = make_broker(*GROUP_SETTINGS).start()
        b.kill()
        # A crash before the recovery points were checkpointed: recovery reads every batch.
        os.remove(tmp_path / "logs" / "recovery-point-offset-checkpoint")
    expected = expected_after_damage()
    b = start_and_check(make_broker, tmp_path, GROUP_SETTINGS, expected, first, last)
    commit_more(b, expected)
    assert b.stop() == 0
    # The new commits survive a restart, and the damage is stepped over again.
    b = start_and_check(make_broker, tmp_path, GROUP_SETTINGS, expected, first, last)
    assert b.stop() == 0


def test_damage_in_a_sealed_offsets_segment_leaves_it_uncleanable(make_broker, tmp_path):
    # A segment per millisecond while committing, so that the damage is in a sealed segment,
    # which the cleaner reads.
    first, last, segments = commit_then_damage(
        make_broker, tmp_path,
        GROUP_SETTINGS + ("--set", "log.roll.ms=1", "--set", "log.cleaner.enable=false"),
        "records")
    assert len(set(segments)) >= 3 and segments[VICTIM_INDEX] != segments[-1]
    settings = GROUP_SETTINGS + ("--set", "log.cleaner.backoff.ms=100", "--set",
                                 "log.cleaner.min.cleanable.ratio=0.01")
    expected = expected_after_damage()
    b = start_and_check(make_broker, tmp_path, settings, expected, first, last)
    # The cleaner meets the damage and leaves the partition alone; nothing is lost.
    wait_for(lambda: "__consumer_offsets-0 is left uncleanable" in open(b.log_path).read(),
             what="the cleaner to give up on the damaged partition")
    commit_more(b, expected)
    assert b.stop() == 0
    b = start_and_check(make_broker, tmp_path, settings, expected, first, last)
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
