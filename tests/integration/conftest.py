"""Shared fixtures: a kfk broker on a free 127.0.0.1 port in a temporary data directory,
always stopped at the end of the test that started it."""

import os
import re
import select
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# KFK_BIN names the binary (make test sets it); otherwise the Release build, then the debug one.
KFK = os.environ.get("KFK_BIN") or next(
    (p for p in (os.path.join(ROOT, "build", d, "src", "cli", "kfk") for d in ("release", "debug"))
     if os.path.exists(p)),
    os.path.join(ROOT, "build", "release", "src", "cli", "kfk"))
READY = re.compile(r"kfk broker ready: .*listening on (\S+):(\d+)")


class Broker:
    def __init__(self, data_dir, extra=()):
        self.data_dir = str(data_dir)
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "broker.log")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def command(self):
        """The `kfk server start` command line of this broker."""
        return [KFK, "server", "start",
                "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                "--set", f"log.dirs={os.path.join(self.data_dir, 'logs')}"] + self.extra

    def start(self, timeout=20.0):
        return self.launch(self.command(), timeout=timeout)

    def launch(self, args, timeout=20.0, preexec_fn=None):
        """Starts the broker process with `args` and waits, at most `timeout` seconds, for
        its ready line on stdout; a broker that exits or stalls before it is stopped and the
        test fails with its log."""
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log,
                                     preexec_fn=preexec_fn)
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        pending = b""
        while True:
            remaining = deadline - time.monotonic()
            # select, not readline: a broker that stalls before its ready line must not
            # block the test for ever.
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            pending += chunk
            m = READY.search(pending.decode(errors="replace"))
            if m:
                self.port = int(m.group(2))
                return self
        self.stop()
        raise RuntimeError(f"broker did not become ready within {timeout}s; see "
                           f"{self.log_path}:\n" + open(self.log_path).read())

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def kill(self):
        return self.stop(sig=signal.SIGKILL)


def stop_cleanly(b):
    """Stops a broker still running at the end of a test with SIGTERM: it must exit 0 (a clean
    shutdown; under AddressSanitizer, also no leak)."""
    if b.proc is None:
        return
    rc = b.stop()
    assert rc == 0, f"broker exited with status {rc} after SIGTERM; see {b.log_path}"


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path).start()
    try:
        yield b
    finally:
        stop_cleanly(b)


@pytest.fixture
def make_broker(tmp_path):
    """Factory for tests that restart or configure the broker themselves."""
    started = []

    def make(*extra, data_dir=None):
        b = Broker(data_dir or tmp_path, extra)
        started.append(b)
        return b

    yield make
    for b in started:
        stop_cleanly(b)
