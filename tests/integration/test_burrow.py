"""Burrow (Debian's burrow package, the lag monitor) pointed at the broker reads the group's
committed offsets from __consumer_offsets and the log end offsets (ListOffsets v0), and
reports the lag. Burrow keeps its own state in ZooKeeper, so a ZooKeeper (Debian's
zookeeper package) runs beside it for the test."""

import glob
import json
import shutil
import socket
import subprocess
import urllib.request

import pytest

from support import create_topic, free_port, wait_for

BURROW = shutil.which("Burrow")
JAVA = shutil.which("java")
ZK_JARS = glob.glob("/usr/share/java/*.jar")

pytestmark = pytest.mark.skipif(
    BURROW is None or JAVA is None or not glob.glob("/usr/share/java/zookeeper*.jar"),
    reason="burrow or zookeeper missing: run scripts/install-deps")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def zookeeper(tmp_path):
    port = free_port()
    data = tmp_path / "zk"
    data.mkdir()
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"tickTime=2000\ndataDir={data}\nclientPort={port}\n"
                   "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n")
    log = open(tmp_path / "zk.log", "w")
    proc = subprocess.Popen([JAVA, "-cp", ":".join(ZK_JARS),
                             "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open(port), timeout=60, what="ZooKeeper to listen")
        yield port
    finally:
        proc.kill()
        proc.wait()
        log.close()


def burrow_lag(http_port, group):
    url = f"http://127.0.0.1:{http_port}/v3/kafka/local/consumer/{group}/lag"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)["status"]
    except OSError:
        return None


def test_burrow_reports_group_lag(broker, zookeeper, tmp_path):
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic, group = "lagged", "burrow-watched"
    create_topic(broker.bootstrap, topic, 2)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        p.produce(topic, value=b"x", partition=i % 2)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, 30), TopicPartition(topic, 1, 45)],
             asynchronous=False)
    c.close()

    http_port = free_port()
    conf_dir = tmp_path / "burrow"
    conf_dir.mkdir()
    (conf_dir / "burrow.toml").write_text(f"""
[general]
pidfile="{conf_dir}/burrow.pid"
[logging]
level="info"
[zookeeper]
servers=["127.0.0.1:{zookeeper}"]
timeout=6
root-path="/burrow"
[client-profile.kfk]
client-id="burrow"
kafka-version="2.0.0"
[cluster.local]
class-name="kafka"
servers=["{broker.bootstrap}"]
client-profile="kfk"
topic-refresh=5
offset-refresh=2
[consumer.local]
class-name="kafka"
cluster="local"
servers=["{broker.bootstrap}"]
client-profile="kfk"
start-latest=false
[httpserver.default]
address="127.0.0.1:{http_port}"
[storage.default]
class-name="inmemory"
workers=2
intervals=10
min-distance=1
""")
    log = open(tmp_path / "burrow.log", "w")
    proc = subprocess.Popen([BURROW, "--config-dir", str(conf_dir)], cwd=conf_dir,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        # Lag = log end offset (50 per partition) - committed offset.
        status = wait_for(lambda: (s := burrow_lag(http_port, group)) and s.get("totallag") == 25
                          and s, timeout=90, what="Burrow to report the group's lag")
        lags = {p["partition"]: p["current_lag"] for p in status["partitions"]}
        assert lags == {0: 20, 1: 5}
    finally:
        proc.kill()
        proc.wait()
        log.close()
