"""The broker starts, answers ApiVersions and Metadata to real clients, and stops cleanly."""

import json
import os
import signal
import socket
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import KFK
from support import free_port


def kcat_metadata(bootstrap):
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", "10"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_kcat_lists_the_broker(broker):
    md = kcat_metadata(broker.bootstrap)
    assert [b["id"] for b in md["brokers"]] == [1]
    assert md["brokers"][0]["name"] == broker.bootstrap
    assert md["controllerid"] == 1


def test_confluent_admin_sees_cluster(broker):
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = admin.list_topics(timeout=10)
    assert list(md.brokers) == [1]
    assert md.cluster_id and len(md.cluster_id) == 22
    assert md.controller_id == 1


def test_kafka_python_bootstraps(broker):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        assert admin.describe_cluster()["controller_id"] == 1
    finally:
        admin.close()


def test_cluster_id_survives_restart(make_broker):
    b = make_broker().start()
    first = kcat_metadata(b.bootstrap)
    meta = open(os.path.join(b.data_dir, "logs", "meta.properties")).read()
    assert b.stop() == 0
    b.start()
    assert open(os.path.join(b.data_dir, "logs", "meta.properties")).read() == meta
    again = kcat_metadata(b.bootstrap)
    assert [x["id"] for x in again["brokers"]] == [x["id"] for x in first["brokers"]]


def test_sigint_stops_cleanly(make_broker):
    b = make_broker().start()
    assert b.stop(sig=signal.SIGINT) == 0


def frame(api_key, version, correlation_id, body=b""):
    header = struct.pack(">hhih", api_key, version, correlation_id, 3) + b"kfk"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def read_frame(sock):
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    return recv_exact(sock, size)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def test_unknown_apiversions_version_gets_unsupported_version(broker):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        # ApiVersions v99 (request header v2 since the version is past the first flexible one).
        header = struct.pack(">hhih", 18, 99, 7, 3) + b"kfk" + b"\x00"
        s.sendall(struct.pack(">i", len(header) + 1) + header + b"\x00")
        resp = read_frame(s)
        correlation, error = struct.unpack(">ih", resp[:6])
        assert correlation == 7
        assert error == 35  # UNSUPPORTED_VERSION, with a v0 body listing the supported APIs
        (count,) = struct.unpack(">i", resp[6:10])
        keys = [struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i])[0] for i in range(count)]
        assert 18 in keys and 3 in keys


def test_oversized_and_garbage_frames_close_the_connection(broker):
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(struct.pack(">i", 200 * 1024 * 1024))
        assert s.recv(1) == b""  # closed
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(frame(3, 9, 1, b"\xff\xff\xff\xff\xff\xff"))  # Metadata v9 with a broken body
        assert s.recv(1) == b""
    # The broker is still serving.
    assert kcat_metadata(broker.bootstrap)["brokers"]


def test_refuses_unknown_setting(tmp_path):
    out = subprocess.run([KFK, "server", "start", "--set", "no.such.setting=1",
                          "--set", f"log.dirs={tmp_path}"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 2
    assert "no.such.setting" in out.stderr


def start_args(data_dir, listener="127.0.0.1:0", *extra):
    return [KFK, "server", "start", "--set", f"listeners=PLAINTEXT://{listener}",
            "--set", f"log.dirs={data_dir}"] + list(extra)


def test_second_broker_on_the_same_dirs_fails_fast(make_broker, tmp_path):
    first = make_broker().start()
    logs = os.path.join(first.data_dir, "logs")
    t0 = time.monotonic()
    out = subprocess.run(start_args(logs), capture_output=True, text=True, timeout=20)
    assert time.monotonic() - t0 < 10
    assert out.returncode == 1, out.stderr
    assert f"the directory {logs} is in use by another broker (pid {first.proc.pid}" in out.stderr
    # The metadata log dir is locked as well.
    out = subprocess.run(start_args(tmp_path / "other", "127.0.0.1:0",
                                    "--set", f"metadata.log.dir={logs}"),
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 1, out.stderr
    assert "is in use by another broker" in out.stderr
    # The first broker keeps serving, its data intact.
    produced = subprocess.run(["kcat", "-b", first.bootstrap, "-P", "-t", "locked"],
                              input="one\ntwo\n", capture_output=True, text=True, timeout=30)
    assert produced.returncode == 0, produced.stderr
    consumed = subprocess.run(["kcat", "-b", first.bootstrap, "-C", "-t", "locked", "-o",
                               "beginning", "-c", "2", "-e"], capture_output=True, text=True,
                              timeout=30)
    assert consumed.stdout.split() == ["one", "two"]
    assert open(os.path.join(logs, ".lock")).read().strip() == str(first.proc.pid)


def test_bind_failures_exit_with_a_message_never_a_crash(make_broker, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    cases = [
        (f"127.0.0.1:{busy_port}",
         f"cannot listen on 127.0.0.1:{busy_port}: address in use (is another broker running?)"),
        ("192.0.2.1:9092", "cannot listen on 192.0.2.1:9092: address not available"),
    ]

    def attempts(worker):
        failures = []
        for i in range(45):
            listener, message = cases[(worker + i) % 2]
            out = subprocess.run(start_args(tmp_path / f"w{worker}", listener),
                                 capture_output=True, text=True, timeout=30)
            if out.returncode != 1 or message not in out.stderr:
                failures.append((listener, out.returncode, out.stderr[-500:]))
        return failures

    try:
        with ThreadPoolExecutor(4) as pool:
            failures = [f for fs in pool.map(attempts, range(4)) for f in fs]
        assert not failures, failures[:3]
    finally:
        busy.close()
    # Starts and stops that succeed, on one port: a client connection leaves the port in
    # TIME_WAIT when the broker closes it, and the next start binds it all the same.
    port = free_port()
    b = make_broker("--set", f"listeners=PLAINTEXT://127.0.0.1:{port}")
    for _ in range(20):
        b.start()
        assert kcat_metadata(f"127.0.0.1:{port}")["brokers"]
        assert b.stop() == 0


def test_tls_and_sasl_listeners_are_refused(tmp_path):
    for settings in (["--set", "listeners=SSL://127.0.0.1:0"],
                     ["--set", "listeners=SASL_SSL://127.0.0.1:0"],
                     ["--set", "listeners=CLIENT://127.0.0.1:0",
                      "--set", "listener.security.protocol.map=CLIENT:SASL_PLAINTEXT"]):
        out = subprocess.run([KFK, "server", "start", "--set", f"log.dirs={tmp_path}"] + settings,
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 5, out.stderr
        assert "does not serve (only PLAINTEXT)" in out.stderr
        assert "kfk broker ready" not in out.stdout


def test_internal_topic_segments_smaller_than_a_topic_allows_are_refused(tmp_path):
    # The internal topics are created with these as segment.bytes, whose minimum is 1 MiB: a
    # smaller value is refused at start, not when a client first needs the topic.
    for setting in ("offsets.topic.segment.bytes=1000",
                    "transaction.state.log.segment.bytes=1000"):
        out = subprocess.run(start_args(tmp_path / "logs", "127.0.0.1:0", "--set", setting),
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, out.stderr
        assert setting.split("=")[0] in out.stderr and "1048576" in out.stderr
