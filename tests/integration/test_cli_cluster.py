"""`kfk cluster info` and `kfk broker config get|set|delete` against a kfk broker, checked
through their JSON (what they print when piped) and against kcat and confluent-kafka-python's
admin client."""

import json
import subprocess

from confluent_kafka.admin import AdminClient, ConfigResource

import support
from conftest import KFK

EXIT_USAGE = 2


def kfk(broker, *args):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def test_cluster_info_matches_kcat(broker):
    support.create_topic(broker.bootstrap, "a", 2)
    support.create_topic(broker.bootstrap, "b", 3)
    info = json.loads(ok(kfk(broker, "cluster", "info")).stdout)
    kcat = json.loads(ok(subprocess.run(["kcat", "-b", broker.bootstrap, "-L", "-J"],
                                        capture_output=True, text=True, timeout=30)).stdout)
    assert list(info) == ["cluster_id", "controller_id", "brokers", "topics", "partitions"]
    assert info["controller_id"] == kcat["controllerid"] == 1
    assert [(b["id"], f'{b["host"]}:{b["port"]}') for b in info["brokers"]] == \
        [(b["id"], b["name"]) for b in kcat["brokers"]]
    assert info["brokers"][0]["controller"] is True and info["brokers"][0]["rack"] is None
    assert isinstance(info["cluster_id"], str) and info["cluster_id"]
    assert (info["topics"], info["partitions"]) == (2, 5)

    table = ok(kfk(broker, "-o", "table", "cluster", "info")).stdout
    assert f"Cluster id:  {info['cluster_id']}" in table
    assert ["1*", broker.bootstrap, "-"] in [line.split() for line in table.splitlines()]


def broker_configs(broker, *args):
    return {c["name"]: c for c in json.loads(ok(kfk(broker, "broker", "config", "get",
                                                      *args)).stdout)}


def test_broker_config_get_set_delete(broker):
    everything = broker_configs(broker, "--all")
    a = AdminClient({"bootstrap.servers": broker.bootstrap})
    theirs = list(a.describe_configs([ConfigResource("broker", "1")]).values())[0].result(10)
    assert set(everything) == set(theirs)
    assert everything["num.partitions"]["value"] == theirs["num.partitions"].value
    assert everything["num.partitions"]["source"] == "DEFAULT_CONFIG"
    assert list(everything["num.partitions"]) == ["name", "value", "source", "read_only",
                                                 "sensitive"]
    # Without --all: only what is not a default (log.dirs is set at start).
    set_only = broker_configs(broker)
    assert "log.dirs" in set_only and "num.partitions" not in set_only
    assert all(c["source"] != "DEFAULT_CONFIG" for c in set_only.values())
    assert list(broker_configs(broker, "num.partitions")) == ["num.partitions"]

    r = kfk(broker, "broker", "config", "get", "num.partpitions")
    assert r.returncode == EXIT_USAGE and "did you mean 'num.partitions'?" in r.stderr

    r = ok(kfk(broker, "broker", "config", "set", "log.retention.ms=3600000"))
    assert r.stdout == "Set log.retention.ms=3600000 for every broker (the cluster-wide default).\n"
    c = broker_configs(broker, "log.retention.ms")["log.retention.ms"]
    assert (c["value"], c["source"]) == ("3600000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    ok(kfk(broker, "broker", "config", "set", "log.retention.ms=7200000", "--broker", "1"))
    c = broker_configs(broker, "log.retention.ms")["log.retention.ms"]
    assert (c["value"], c["source"]) == ("7200000", "DYNAMIC_BROKER_CONFIG")

    r = json.loads(ok(kfk(broker, "-o", "json", "broker", "config", "delete", "log.retention.ms",
                          "--broker", "1")).stdout)
    assert r == {"broker": 1, "deleted": ["log.retention.ms"]}
    assert broker_configs(broker, "log.retention.ms")["log.retention.ms"]["value"] == "3600000"
    ok(kfk(broker, "broker", "config", "delete", "log.retention.ms"))
    c = broker_configs(broker, "log.retention.ms")["log.retention.ms"]
    assert c["source"] == "DEFAULT_CONFIG"

    r = kfk(broker, "broker", "config", "set", "retention")
    assert r.returncode == EXIT_USAGE
