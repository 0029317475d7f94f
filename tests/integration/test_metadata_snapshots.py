"""Metadata snapshots: with many topic and config changes the controller writes snapshots of
its image and deletes the metadata log segments they cover; after a clean restart, a kill -9,
or a kill while a snapshot is being written, topics, their ids, partition counts and configs
are exactly as before, and deleted topics stay deleted."""

import json
import os
import subprocess
import threading

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from conftest import KFK
from support import wait_for

# Info logging (-v) for the snapshot lines; a small snapshot interval and the smallest
# segments, so that a few thousand topics make many snapshots and several segments.
SETTINGS = ("-v", "--set", "metadata.log.max.record.bytes.between.snapshots=32768",
            "--set", "metadata.log.segment.bytes=1048576")
CONFIG_NAMES = ("retention.ms", "cleanup.policy", "max.message.bytes")


def metadata_dir(b):
    return os.path.join(b.data_dir, "logs", "__cluster_metadata-0")


def files(b, suffix):
    return sorted(f for f in os.listdir(metadata_dir(b)) if f.endswith(suffix))


def admin(b):
    return AdminClient({"bootstrap.servers": b.bootstrap})


def in_chunks(items, size=250):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def create_topics(a, specs):
    for chunk in in_chunks(specs):
        futures = a.create_topics(
            [NewTopic(name, partitions, 1, config=config) for name, partitions, config in chunk],
            operation_timeout=30)
        for name, f in futures.items():
            assert f.exception(timeout=60) is None, name


def delete_topics(a, names):
    for chunk in in_chunks(names):
        for name, f in a.delete_topics(chunk, operation_timeout=30).items():
            assert f.exception(timeout=60) is None, name


def topic_config(i):
    return {"retention.ms": str(100000 + i), "cleanup.policy": "compact" if i % 2 else "delete",
            "max.message.bytes": str(500000 + i)}


def topics_state(b):
    """{name: (topic id, partition count, overrides)} of every topic, read through the kfk
    client (Metadata v10+ for the ids) and DescribeConfigs."""
    out = subprocess.run([KFK, "topic", "list", "-b", b.bootstrap, "-o", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    topics = {t["name"]: (t["topic_id"], t["partitions"]) for t in json.loads(out.stdout)}
    a = admin(b)
    configs = {}
    for chunk in in_chunks(sorted(topics)):
        futures = a.describe_configs([ConfigResource("topic", name) for name in chunk])
        for resource, f in futures.items():
            entries = f.result(timeout=60)
            configs[resource.name] = {k: e.value for k, e in entries.items()
                                      if k in CONFIG_NAMES and not e.is_default}
    return {name: (tid, partitions, configs[name]) for name, (tid, partitions) in topics.items()}


def stop(b):
    # Closing every partition takes a while with many of them: more time than the default.
    assert b.stop(timeout=120) == 0


def restart(make_broker, b, kill):
    if kill:
        b.kill()
    else:
        stop(b)
    return make_broker(*SETTINGS, data_dir=b.data_dir).start(timeout=60)


def test_snapshots_trim_the_log_and_restarts_keep_the_topics(make_broker):
    b = make_broker(*SETTINGS).start()
    a = admin(b)
    names = [f"snap-{i:05d}" for i in range(3000)]
    create_topics(a, [(n, 1 + (i // 4) % 3, topic_config(i)) for i, n in enumerate(names)])
    deleted = [n for i, n in enumerate(names) if i % 4 != 0]
    delete_topics(a, deleted)
    survivors = [n for i, n in enumerate(names) if i % 4 == 0]
    # AlterConfigs (replace): one setting changed, the others removed.
    for chunk in in_chunks(survivors[:300]):
        futures = a.alter_configs(
            [ConfigResource("topic", n, set_config={"retention.ms": "7777"}) for n in chunk])
        for f in futures.values():
            f.result(timeout=60)

    # Snapshots appear (the newest two are kept) and the first segments go.
    wait_for(lambda: files(b, ".checkpoint"), what="a metadata snapshot")
    wait_for(lambda: "00000000000000000000.log" not in files(b, ".log"),
             what="the first metadata log segment to be deleted", timeout=30)
    assert len(files(b, ".checkpoint")) <= 2
    assert len(files(b, ".log")) >= 1

    before = topics_state(b)
    assert sorted(before) == sorted(survivors)
    assert before[survivors[0]][2] == {"retention.ms": "7777"}
    assert before[survivors[-1]][2] == topic_config(4 * (len(survivors) - 1))
    assert [before[n][1] for n in survivors[:4]] == [1, 2, 3, 1]

    for restarts, kill in enumerate((False, True), start=1):
        b = restart(make_broker, b, kill)
        assert topics_state(b) == before, f"after {'kill -9' if kill else 'a clean stop'}"
        with open(b.log_path) as log:
            loads = [line for line in log if "metadata loaded in" in line]
        assert len(loads) == restarts and ": snapshot 0" in loads[-1], loads
    # Deleted topics stay deleted, and their names can be taken again with new ids.
    create_topics(admin(b), [(deleted[0], 2, {})])
    after = topics_state(b)
    assert after[deleted[0]][1] == 2
    assert deleted[1] not in after
    stop(b)

    # Without the snapshots, the trimmed log would give an incomplete image: refused.
    for name in files(b, ".checkpoint"):
        os.remove(os.path.join(metadata_dir(b), name))
    out = subprocess.run([KFK, "server", "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                          "--set", f"log.dirs={os.path.join(b.data_dir, 'logs')}", *SETTINGS],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert metadata_dir(b) in out.stderr and "no usable snapshot" in out.stderr, out.stderr
    assert "restore the directory" in out.stderr and "hold the port" not in out.stderr, out.stderr


def test_kill_while_a_snapshot_is_written(make_broker):
    # A snapshot after every change: the writer is busy almost all the time.
    settings = ("-v", "--set", "metadata.log.max.record.bytes.between.snapshots=1",
                "--set", "metadata.log.segment.bytes=1048576")
    b = make_broker(*settings).start()
    create_topics(admin(b), [(f"base-{i:05d}", 1, topic_config(i)) for i in range(500)])
    before = topics_state(b)

    acknowledged = []
    caught = False
    for attempt in range(10):
        halt = threading.Event()

        def churn():
            # Batches of creations: commits come faster than snapshots are written, so the
            # writer is never idle for long.
            a = admin(b)
            i = 0
            while not halt.is_set():
                names = [f"churn-{attempt}-{i + k}" for k in range(25)]
                i += len(names)
                try:
                    futures = a.create_topics([NewTopic(n, 1, 1) for n in names],
                                              operation_timeout=5)
                    for name, f in futures.items():
                        if f.exception(timeout=10) is None:
                            acknowledged.append(name)
                except Exception:  # the broker is gone
                    return

        worker = threading.Thread(target=churn)
        worker.start()
        wait_for(lambda: sum(n.startswith(f"churn-{attempt}-") for n in acknowledged) >= 50,
                 what="topics created under churn", timeout=30)
        b.kill()
        halt.set()
        worker.join(timeout=30)
        leftovers = files(b, ".checkpoint.tmp")
        b = make_broker(*settings, data_dir=b.data_dir).start(timeout=60)
        state = topics_state(b)
        assert all(state[n] == before[n] for n in before)
        missing = [n for n in acknowledged if n not in state]
        assert not missing, f"acknowledged topics lost: {missing[:5]}"
        assert not files(b, ".checkpoint.tmp")
        if leftovers:
            with open(b.log_path) as log:
                assert "removing the unfinished metadata snapshot" in log.read()
            caught = True
            break
    assert caught, "no kill landed while a snapshot was being written in 10 tries"
    stop(b)


def test_invalid_snapshot_settings_are_refused(tmp_path):
    for setting in ("metadata.log.segment.bytes=4096",
                    "metadata.log.max.record.bytes.between.snapshots=0",
                    "metadata.log.max.snapshot.interval.ms=soon"):
        out = subprocess.run([KFK, "server", "start", "--set", setting,
                              "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                              "--set", f"log.dirs={tmp_path / 'logs'}"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0
        assert setting.split("=")[0] in out.stderr
