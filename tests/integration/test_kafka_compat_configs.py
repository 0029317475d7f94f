"""Kafka settings that tools written for Kafka 3.x still send and kfk accepts without effect:
message.format.version on topics, every Kafka broker setting (sasl.kerberos.*, ssl.*,
zookeeper.*, ...) through AlterConfigs, IncrementalAlterConfigs, --set and the TOML file.
Names that are not Kafka settings still fail as unknown."""

import subprocess

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic

from conftest import KFK
from kafka_wire import Wire, array, i8, string

RELOGIN = "sasl.kerberos.min.time.before.relogin"


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def describe(client, kind, name):
    return list(client.describe_configs([ConfigResource(kind, name)]).values())[0].result(timeout=10)


def incremental_alter(broker, resource_type, name, configs):
    """IncrementalAlterConfigs v0 (confluent-kafka 1.7 has no call for it): configs are
    (name, op, value) with op 0 SET, 1 DELETE. Returns (error code, message)."""
    body = array([(resource_type, name, configs)],
                 lambda r: i8(r[0]) + string(r[1]) +
                 array(r[2], lambda c: string(c[0]) + i8(c[1]) + string(c[2]))) + i8(0)
    w = Wire(broker.bootstrap)
    try:
        r = w.call(44, 0, body)
        r.i32()  # throttle
        responses = r.array(lambda x: (x.i16(), x.string(), x.i8(), x.string()))
    finally:
        w.close()
    assert len(responses) == 1
    return responses[0][0], responses[0][1]


def test_create_topic_with_message_format_version(broker):
    a = admin(broker)
    fut = a.create_topics([NewTopic("old-format", 1, 1, config={"message.format.version": "2.8"})],
                          operation_timeout=10)
    assert fut["old-format"].result(timeout=20) is None
    cfg = describe(a, "topic", "old-format")
    assert cfg["message.format.version"].value == "2.8"
    assert cfg["message.downconversion.enable"].value == "true"
    # A topic without the override shows Kafka 3.x's default.
    a.create_topics([NewTopic("new-format", 1, 1)], operation_timeout=10)["new-format"].result(20)
    assert describe(a, "topic", "new-format")["message.format.version"].value == "3.0-IV1"
    # The type is still checked.
    bad = a.create_topics([NewTopic("bad-format", 1, 1,
                                    config={"message.format.version": "banana"})],
                          operation_timeout=10)
    with pytest.raises(KafkaException) as e:
        bad["bad-format"].result(timeout=20)
    assert e.value.args[0].name() == "INVALID_CONFIG"
    log = open(broker.log_path).read()
    assert log.count("message.format.version is deprecated") == 1


def test_alter_configs_accepts_kafka_broker_settings(broker):
    a = admin(broker)
    res = a.alter_configs([ConfigResource("broker", "1", set_config={RELOGIN: "120000"})])
    assert list(res.values())[0].result(timeout=10) is None
    cfg = describe(a, "broker", "1")
    assert cfg[RELOGIN].value == "120000"
    assert cfg[RELOGIN].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    # Unset Kafka settings are described with Kafka's default.
    assert cfg["sasl.kerberos.kinit.cmd"].value == "/usr/bin/kinit"
    assert cfg["background.threads"].value == "10"
    # The type is checked.
    bad = a.alter_configs([ConfigResource("broker", "1", set_config={RELOGIN: "soon"})])
    with pytest.raises(KafkaException) as e:
        list(bad.values())[0].result(timeout=10)
    assert e.value.args[0].name() == "INVALID_REQUEST"
    # Kafka's read-only settings refuse a dynamic change as Kafka does, not as unknown.
    ro = a.alter_configs([ConfigResource("broker", "1", set_config={"zookeeper.connect": "zk:2181"})])
    with pytest.raises(KafkaException) as e:
        list(ro.values())[0].result(timeout=10)
    assert e.value.args[0].name() == "INVALID_REQUEST"
    assert "read-only" in str(e.value)
    assert "unknown" not in str(e.value)
    # A name that is not a Kafka setting is still unknown.
    unknown = a.alter_configs([ConfigResource("broker", "1", set_config={"no.such.setting": "1"})])
    with pytest.raises(KafkaException) as e:
        list(unknown.values())[0].result(timeout=10)
    assert "unknown configuration no.such.setting" in str(e.value)


def test_incremental_alter_configs_accepts_kafka_settings(broker):
    assert incremental_alter(broker, 4, "1", [(RELOGIN, 0, "90000")])[0] == 0
    assert describe(admin(broker), "broker", "1")[RELOGIN].value == "90000"
    assert incremental_alter(broker, 4, "1", [(RELOGIN, 1, None)])[0] == 0
    assert describe(admin(broker), "broker", "1")[RELOGIN].value == "60000"
    a = admin(broker)
    a.create_topics([NewTopic("inc", 1, 1)], operation_timeout=10)["inc"].result(20)
    assert incremental_alter(broker, 2, "inc", [("message.format.version", 0, "3.0")])[0] == 0
    assert describe(a, "topic", "inc")["message.format.version"].value == "3.0"
    code, message = incremental_alter(broker, 4, "1", [("no.such.setting", 0, "1")])
    assert code != 0 and "unknown configuration no.such.setting" in message


def test_start_with_kafka_settings_logs_them(make_broker, tmp_path):
    toml = tmp_path / "kfk.toml"
    toml.write_text('"log.message.format.version" = "2.8"\n"ssl.client.auth" = "none"\n')
    b = make_broker("--set", f"{RELOGIN}=60000", "--config", str(toml)).start()
    log = open(b.log_path).read()
    assert ("settings accepted for compatibility but without effect in kfk: "
            f"log.message.format.version, {RELOGIN}, ssl.client.auth") in log
    assert "log.message.format.version is deprecated" in log
    cfg = describe(admin(b), "broker", "1")
    assert cfg[RELOGIN].value == "60000"
    assert cfg["log.message.format.version"].value == "2.8"


def test_start_with_unknown_or_mistyped_setting_fails(tmp_path):
    for setting, expected in (("no.such.setting=1", "unknown configuration no.such.setting"),
                              (f"{RELOGIN}=soon", RELOGIN)):
        r = subprocess.run([KFK, "server", "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                            "--set", f"log.dirs={tmp_path / 'logs'}", "--set", setting],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert expected in r.stderr
