"""Topic administration through real admin clients: CreateTopics, DeleteTopics,
CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, DescribeCluster,
and what survives a restart."""

import json
import subprocess

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from support import wait_for


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(client, *topics, **kwargs):
    futures = client.create_topics(list(topics), operation_timeout=10, **kwargs)
    return {name: f.exception(timeout=20) for name, f in futures.items()}


def topic_partitions(client):
    md = client.list_topics(timeout=10)
    return {name: len(t.partitions) for name, t in md.topics.items()}


def test_create_list_describe_delete(broker):
    a = admin(broker)
    errors = create(a, NewTopic("orders", 3, 1, config={"retention.ms": "3600000"}),
                    NewTopic("events", 1, 1))
    assert errors == {"orders": None, "events": None}
    assert topic_partitions(a) == {"orders": 3, "events": 1}

    res = a.describe_configs([ConfigResource("topic", "orders")])
    cfg = list(res.values())[0].result(timeout=10)
    assert cfg["retention.ms"].value == "3600000"
    assert cfg["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["cleanup.policy"].is_default

    # Partition directories follow Kafka's layout, with the topic id beside the segments.
    logs = broker.data_dir + "/logs"
    for p in range(3):
        with open(f"{logs}/orders-{p}/partition.metadata") as f:
            assert f.read().startswith("version: 0\ntopic_id: ")

    assert a.delete_topics(["events"], operation_timeout=10)["events"].exception(timeout=20) is None
    assert topic_partitions(a) == {"orders": 3}
    wait_for(lambda: not any(n.startswith("events-") and not n.endswith("-delete")
                             for n in __import__("os").listdir(logs)), what="events deleted")


def test_create_errors(broker):
    a = admin(broker)
    assert create(a, NewTopic("dup", 1, 1))["dup"] is None
    errors = create(a, NewTopic("dup", 1, 1), NewTopic("bad/name", 1, 1),
                    NewTopic("rf3", 1, 3), NewTopic("cfg", 1, 1, config={"retention.ms": "x"}),
                    NewTopic("unknowncfg", 1, 1, config={"retention.msec": "1"}))
    assert errors["dup"].args[0].name() == "TOPIC_ALREADY_EXISTS"
    assert errors["bad/name"].args[0].name() == "TOPIC_EXCEPTION"
    assert errors["rf3"].args[0].name() == "INVALID_REPLICATION_FACTOR"
    assert errors["cfg"].args[0].name() == "INVALID_CONFIG"
    assert "retention.ms" in errors["cfg"].args[0].str()
    assert errors["unknowncfg"].args[0].name() == "INVALID_CONFIG"
    # validate_only checks without creating.
    assert create(a, NewTopic("dry", 2, 1), validate_only=True)["dry"] is None
    assert "dry" not in topic_partitions(a)
    # Deleting what does not exist.
    err = a.delete_topics(["missing"], operation_timeout=10)["missing"].exception(timeout=20)
    assert err.args[0].name() == "UNKNOWN_TOPIC_OR_PART"


def test_create_partitions(broker):
    a = admin(broker)
    assert create(a, NewTopic("grow", 2, 1))["grow"] is None
    assert a.create_partitions([NewPartitions("grow", 5)])["grow"].exception(timeout=20) is None
    assert topic_partitions(a)["grow"] == 5
    err = a.create_partitions([NewPartitions("grow", 3)])["grow"].exception(timeout=20)
    assert err.args[0].name() == "INVALID_PARTITIONS"


def test_alter_configs_and_broker_configs(broker):
    a = admin(broker)
    assert create(a, NewTopic("cfg", 1, 1, config={"retention.ms": "1000000"}))["cfg"] is None
    # Legacy AlterConfigs replaces every override of the resource.
    res = a.alter_configs([ConfigResource("topic", "cfg", set_config={"segment.ms": "100000"})])
    assert list(res.values())[0].result(timeout=10) is None
    cfg = list(a.describe_configs([ConfigResource("topic", "cfg")]).values())[0].result(timeout=10)
    assert cfg["segment.ms"].value == "100000"
    assert cfg["retention.ms"].value == "604800000"
    bad = a.alter_configs([ConfigResource("topic", "cfg", set_config={"segment.ms": "-5"})])
    with pytest.raises(KafkaException) as e:
        list(bad.values())[0].result(timeout=10)
    assert e.value.args[0].name() == "INVALID_CONFIG"

    broker_cfg = list(a.describe_configs([ConfigResource("broker", "1")]).values())[0].result(timeout=10)
    assert broker_cfg["num.partitions"].value == "1"
    assert broker_cfg["log.dirs"].value.endswith("/logs")


def test_kafka_python_admin(broker):
    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic, ConfigResource as KRes, ConfigResourceType
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        a.create_topics([KNewTopic("kp", 4, 1, topic_configs={"cleanup.policy": "compact"})])
        assert "kp" in a.list_topics()
        desc = a.describe_topics(["kp"])
        assert len(desc[0]["partitions"]) == 4
        res = a.describe_configs([KRes(ConfigResourceType.TOPIC, "kp")])
        entries = {c[0]: c[1] for c in res[0].resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
        cluster = a.describe_cluster()
        assert cluster["controller_id"] == 1
        a.delete_topics(["kp"])
        assert "kp" not in a.list_topics()
    finally:
        a.close()


def test_kcat_lists_created_topics(broker):
    a = admin(broker)
    assert create(a, NewTopic("listed", 2, 1))["listed"] is None
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-L", "-J", "-m", "10"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    md = json.loads(out.stdout)
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics["listed"]["partitions"]) == 2
    assert topics["listed"]["partitions"][0]["leader"] == 1


def test_auto_create_on_metadata(make_broker):
    b = make_broker("--set", "num.partitions=3").start()
    md = AdminClient({"bootstrap.servers": b.bootstrap})
    # kcat asks for the topic's metadata, which creates it with num.partitions.
    subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-t", "auto1", "-m", "10"],
                   capture_output=True, timeout=30)
    assert wait_for(lambda: topic_partitions(md).get("auto1"), what="auto-created topic") == 3


def test_auto_create_disabled(make_broker):
    b = make_broker("--set", "auto.create.topics.enable=false").start()
    out = subprocess.run(["kcat", "-b", b.bootstrap, "-L", "-t", "nope", "-J", "-m", "5"],
                         capture_output=True, text=True, timeout=30)
    md = json.loads(out.stdout)
    assert md["topics"][0]["error"] == "Broker: Unknown topic or partition"


def test_topics_and_configs_survive_restart(make_broker, tmp_path):
    b = make_broker().start()
    a = admin(b)
    assert create(a, NewTopic("keep", 4, 1, config={"cleanup.policy": "compact"}))["keep"] is None
    assert create(a, NewTopic("drop", 1, 1))["drop"] is None
    assert a.delete_topics(["drop"], operation_timeout=10)["drop"].exception(timeout=20) is None
    before = a.list_topics(timeout=10).topics["keep"]
    assert b.stop() == 0
    b2 = make_broker(data_dir=tmp_path).start()
    a2 = admin(b2)
    assert topic_partitions(a2) == {"keep": 4}
    cfg = list(a2.describe_configs([ConfigResource("topic", "keep")]).values())[0].result(timeout=10)
    assert cfg["cleanup.policy"].value == "compact"
    # kill -9 keeps what was committed too.
    assert create(a2, NewTopic("after", 2, 1))["after"] is None
    b2.kill()
    b3 = make_broker(data_dir=tmp_path).start()
    assert topic_partitions(admin(b3)) == {"keep": 4, "after": 2}
    assert before.partitions.keys() == admin(b3).list_topics(timeout=10).topics["keep"].partitions.keys()
