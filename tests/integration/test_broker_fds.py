"""File descriptors: the broker raises its soft limit to the hard one; when they run out it
pauses accepting instead of spinning, and a topic whose log cannot be created is refused
(KAFKA_STORAGE_ERROR) rather than left without logs."""

import os
import resource
import socket
import time

from conftest import KFK, Broker, stop_cleanly
from kafka_wire import Wire, i8, i16, i32, string
from support import wait_for

KAFKA_STORAGE_ERROR = 56
UNKNOWN_TOPIC_OR_PARTITION = 3


class LimitedBroker(Broker):
    """A broker started with RLIMIT_NOFILE set to (soft, hard); stopped as any Broker."""

    def __init__(self, data_dir, soft, hard):
        super().__init__(data_dir)
        args = [KFK, "-v", "server", "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                "--set", f"log.dirs={os.path.join(self.data_dir, 'logs')}"]

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        self.launch(args, preexec_fn=limit)

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_seconds(self):
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def soft_limit_of(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open files limit")


def create_topic(wire, name):
    body = (i32(1) + string(name) + i32(1) + i16(1) + i32(0) + i32(0)
            + i32(10000) + i8(0))
    r = wire.call(19, 2, body)
    r.i32()  # throttle
    assert r.i32() == 1
    assert r.string() == name
    return r.i16(), r.string()


def metadata_error(wire, name, allow_auto_create):
    r = wire.call(3, 4, i32(1) + string(name) + i8(1 if allow_auto_create else 0))
    r.i32()  # throttle
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), r.string()
    r.string()  # cluster id
    r.i32()  # controller
    assert r.i32() == 1
    return r.i16()


def test_soft_open_files_limit_is_raised_to_the_hard_limit(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard <= 256:
        hard = 4096
    b = LimitedBroker(tmp_path, 256, hard)
    try:
        assert soft_limit_of(b.proc.pid) == hard
        wait_for(lambda: "open files limit raised from 256" in open(b.log_path).read(),
                 timeout=10, what="the limit in the log")
    finally:
        stop_cleanly(b)


def test_out_of_descriptors_pauses_accepting_and_refuses_topics(tmp_path):
    limit = 128
    b = LimitedBroker(tmp_path, limit, limit)
    hogs = []
    admin = Wire(b.bootstrap)
    try:
        # Connections until the broker has no descriptor left; the rest wait in the backlog.
        for _ in range(limit + 30):
            hogs.append(socket.create_connection(("127.0.0.1", b.port), timeout=10))
        wait_for(lambda: b.open_fds() >= limit, timeout=20, what="the broker out of descriptors")
        cpu_before = b.cpu_seconds()
        time.sleep(3)  # measuring what waiting costs: nothing to wait for
        spent = b.cpu_seconds() - cpu_before
        assert spent < 0.6, f"the broker spent {spent:.2f} s of CPU in 3 s waiting to accept"

        # A topic whose log cannot be created is refused, and does not exist afterwards.
        # (Whichever comes first fails: writing the metadata log or creating the log.)
        code, message = create_topic(admin, "no-fds")
        assert code == KAFKA_STORAGE_ERROR, (code, message)
        assert "Too many open files" in message
        assert metadata_error(admin, "no-fds", False) == UNKNOWN_TOPIC_OR_PARTITION
        # Auto-creation is refused the same way.
        assert metadata_error(admin, "auto-no-fds", True) == KAFKA_STORAGE_ERROR
        assert metadata_error(admin, "auto-no-fds", False) == UNKNOWN_TOPIC_OR_PARTITION
        log = open(b.log_path).read()
        assert "accepting again in" in log

        for s in hogs:
            s.close()
        hogs = []
        wait_for(lambda: b.open_fds() < limit - 40, timeout=20, what="descriptors freed")
        # Once descriptors are free, the same topic can be created.
        code, message = create_topic(admin, "no-fds")
        assert code == 0, (code, message)
        assert metadata_error(admin, "no-fds", False) == 0
    finally:
        for s in hogs:
            s.close()
        admin.close()
        stop_cleanly(b)
    # After a restart the refused operations stay undone.
    b = LimitedBroker(tmp_path, 4096, 4096)
    admin = Wire(b.bootstrap)
    try:
        assert metadata_error(admin, "no-fds", False) == 0
        assert metadata_error(admin, "auto-no-fds", False) == UNKNOWN_TOPIC_OR_PARTITION
    finally:
        admin.close()
        stop_cleanly(b)


def test_a_topic_whose_log_cannot_be_created_is_refused_and_removed(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    # A file where the partition's directory must go: creating the log fails.
    (logs / "blocked-0").write_text("not a directory")
    b = LimitedBroker(tmp_path, 4096, 4096)
    admin = Wire(b.bootstrap)
    try:
        code, message = create_topic(admin, "blocked")
        assert code == KAFKA_STORAGE_ERROR, (code, message)
        assert "The logs of topic blocked could not be created" in message
        assert metadata_error(admin, "blocked", False) == UNKNOWN_TOPIC_OR_PARTITION
        assert metadata_error(admin, "blocked", True) == KAFKA_STORAGE_ERROR
        (logs / "blocked-0").unlink()
        code, message = create_topic(admin, "blocked")
        assert code == 0, (code, message)
        assert metadata_error(admin, "blocked", False) == 0
    finally:
        admin.close()
        stop_cleanly(b)
    b = LimitedBroker(tmp_path, 4096, 4096)
    admin = Wire(b.bootstrap)
    try:
        assert metadata_error(admin, "blocked", False) == 0
    finally:
        admin.close()
        stop_cleanly(b)
