"""The interactive shell on a real terminal: kfk runs inside tmux, keys go in with send-keys and
the screen comes back with capture-pane. Completion of a subcommand and of a live topic name,
history recall (in the session and from the history file), a produce and a consume, Ctrl-C
stopping a command but not the shell, errors that leave the shell running, Ctrl-D leaving."""

import os
import re
import shutil
import subprocess
import uuid

import pytest

from conftest import KFK
from support import create_topic, wait_for

PROMPT = re.compile(r"kfk( \([^)]*\))?>( |$)")  # tmux drops the trailing blank

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


class Tmux:
    """One tmux server of its own (its own socket), one window running `command`."""

    def __init__(self, command, env):
        self.socket = f"kfk-test-{uuid.uuid4().hex[:8]}"
        self.target = "shell"
        full = " ".join(f"{k}={v}" for k, v in env.items())
        # When the shell ends, say how, and keep the pane open so the test can read it.
        script = f"env {full} {command}; echo \"[shell exited $?]\"; sleep 60"
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s",
                        self.target, "-x", "160", "-y", "50", script], check=True)

    def send(self, *keys):
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", self.target, *keys],
                       check=True)

    def type(self, text):
        self.send("-l", text)

    def screen(self):
        r = subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-J", "-S", "-500",
                            "-t", self.target], capture_output=True, text=True, check=True)
        return r.stdout

    def lines(self):
        return [line.rstrip() for line in self.screen().splitlines() if line.strip()]

    def wait_screen(self, predicate, what, timeout=20):
        return self.wait(lambda: predicate(self.screen()), what, timeout)

    def wait(self, predicate, what, timeout=20):
        """wait_for, with the screen in the failure message."""
        try:
            return wait_for(predicate, timeout=timeout, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; the screen:\n{self.screen()}") from None

    def shell_has_child(self):
        """True while the kfk shell runs a command (its forked child): the terminal is then in
        the child's hands, so typed keys (Ctrl-D above all) reach the command."""
        pane = subprocess.run(["tmux", "-L", self.socket, "display", "-p", "-t", self.target,
                               "#{pane_pid}"], capture_output=True, text=True).stdout.strip()
        for shell in subprocess.run(["pgrep", "-P", pane], capture_output=True,
                                    text=True).stdout.split():
            if subprocess.run(["pgrep", "-P", shell], capture_output=True).returncode == 0:
                return True
        return False

    def prompt_count(self):
        return sum(1 for line in self.screen().splitlines() if PROMPT.match(line))

    def last_line(self):
        lines = self.lines()
        return lines[-1] if lines else ""

    def kill(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def shell_env(tmp_path, broker):
    env = {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
        "KFK_BROKERS": broker.bootstrap,
        "TERM": "xterm",
    }
    return env


@pytest.fixture
def start_shell(shell_env):
    started = []

    def start():
        t = Tmux(KFK, shell_env)  # kfk alone on a terminal opens the shell
        started.append(t)
        t.wait_screen(lambda s: any(PROMPT.match(line) for line in s.splitlines()),
                      "the first prompt")
        return t

    yield start
    for t in started:
        t.kill()


def run_line(t, line):
    """Types a line and waits for the command to finish (a new prompt after it)."""
    before = t.prompt_count()
    t.type(line)
    t.send("Enter")
    t.wait(lambda: t.prompt_count() > before and PROMPT.fullmatch(t.last_line()),
           f"the prompt after {line!r}")


def test_completion_of_subcommand_and_live_topic(broker, start_shell):
    create_topic(broker.bootstrap, "shell-orders", partitions=2)
    t = start_shell()
    t.type("top")
    t.send("Tab")
    t.wait_screen(lambda s: "kfk> topic " in s, "'top' completed to 'topic'")
    t.type("describe shell-o")
    t.send("Tab")
    t.wait_screen(lambda s: "kfk> topic describe shell-orders " in s, "the live topic name")
    t.send("C-u")
    # An option of the current command.
    t.type("topic create --if-not-e")
    t.send("Tab")
    t.wait_screen(lambda s: "kfk> topic create --if-not-exists " in s, "the option completed")
    t.send("C-u")


def test_produce_and_consume_in_the_shell(broker, start_shell):
    create_topic(broker.bootstrap, "shell-io")
    t = start_shell()
    t.type("produce shell-io -k k1")
    t.send("Enter")
    t.wait(t.shell_has_child, "the produce command running")
    t.type("hello from the shell")
    t.send("Enter")
    t.send("C-d")  # end of input for produce, not for the shell
    t.wait(lambda: t.prompt_count() >= 2 and t.last_line() == "kfk>", "produce finished")
    run_line(t, "consume shell-io -o earliest -c 1 --format json")
    out = t.screen()
    assert '"key":"k1"' in out and '"value":"hello from the shell"' in out
    # Ctrl-C stops a consumer following the topic, and the shell goes on.
    t.type("consume shell-io -o earliest")
    t.send("Enter")
    t.wait_screen(lambda s: "hello from the shell" in s.split("kfk> consume shell-io -o earliest")[-1],
                  "the follow-mode consumer printing the record")
    t.send("C-c")
    t.wait_screen(lambda s: s.rstrip().endswith("kfk>"), "the prompt after Ctrl-C")
    run_line(t, "topic list")
    assert "shell-io" in t.screen().split("kfk> topic list")[-1]


def test_history_recall_and_file(shell_env, start_shell):
    t = start_shell()
    run_line(t, "debug error 36")
    t.wait_screen(lambda s: "TOPIC_ALREADY_EXISTS (36)" in s, "the command's output")
    t.send("Up")
    t.wait_screen(lambda s: s.rstrip().endswith("kfk> debug error 36"), "Up recalling the line")
    t.send("C-u")
    t.send("C-d")
    t.wait_screen(lambda s: "[shell exited 0]" in s, "Ctrl-D leaving the shell")
    history = os.path.join(shell_env["XDG_STATE_HOME"], "kfk", "history")
    assert "debug" in open(history).read()
    # A new shell recalls the previous session's lines.
    t2 = start_shell()
    t2.send("Up")
    t2.wait_screen(lambda s: s.rstrip().endswith("kfk> debug error 36"), "history from the file")


def test_errors_leave_the_shell_running(start_shell):
    t = start_shell()
    run_line(t, "topic nope")
    run_line(t, 'produce "unterminated')
    run_line(t, "no-such-command")
    screen = t.screen()
    assert "unknown command 'no-such-command'" in screen
    assert "unterminated" in screen
    run_line(t, "use")
    assert "no profile in use" in t.screen()
    t.type("exit")
    t.send("Enter")
    t.wait_screen(lambda s: "[shell exited 0]" in s, "exit leaving the shell")


def test_ctrl_c_at_the_prompt_clears_the_line(start_shell):
    t = start_shell()
    t.type("some half-typed line")
    before = t.prompt_count()
    t.send("C-c")
    t.wait(lambda: t.prompt_count() > before and t.last_line() == "kfk>",
           "a fresh prompt after Ctrl-C")
    run_line(t, "debug error 3")
    assert "UNKNOWN_TOPIC_OR_PARTITION (3)" in t.screen()


def test_use_profile(broker, shell_env, start_shell):
    # Two profiles: "dead" (created with --use, so the current one) and "local", pointing at
    # the broker.
    env = dict(os.environ, **shell_env)
    env.pop("KFK_BROKERS")
    for name, brokers, use in (("dead", "127.0.0.1:1", ["--use"]), ("local", broker.bootstrap, [])):
        r = subprocess.run([KFK, "profile", "create", name, "-b", brokers, *use], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    create_topic(broker.bootstrap, "profile-topic")
    shell_env.pop("KFK_BROKERS")
    t = start_shell()
    t.wait_screen(lambda s: "kfk (dead)> " in s, "the prompt naming the current profile")
    run_line(t, "use profile nope")
    assert "no profile named 'nope'" in t.screen()
    t.type("use profile lo")
    t.send("Tab")  # profile names complete too
    t.wait_screen(lambda s: "kfk (dead)> use profile local " in s, "the profile name completed")
    t.send("Enter")
    t.wait_screen(lambda s: s.rstrip().endswith("kfk (local)>"), "the prompt naming the profile")
    run_line(t, "topic list")
    assert "profile-topic" in t.screen().split("kfk (local)> topic list")[-1]
    # Completion asks the profile's broker too.
    t.type("topic describe profile-t")
    t.send("Tab")
    t.wait_screen(lambda s: "kfk (local)> topic describe profile-topic " in s,
                  "the topic name from the profile's broker")
