"""The generated bash completion against a live broker: `bash -ic` runs the committed script's
_kfk for a command line and must offer the topic (and group) names the broker has; the same in
a real interactive bash inside tmux, pressing Tab."""

import os
import shutil
import subprocess

import pytest

from conftest import KFK, ROOT
from support import create_topic
from test_shell_tmux import Tmux

SCRIPT = os.path.join(ROOT, "completions", "kfk.bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def bash_complete(words, env_extra=None, with_library=True):
    """COMPREPLY of _kfk for COMP_WORDS=words (the cursor at the end of the last word)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    line = "".join(words) if ":" in words else " ".join(words)
    setup = f"source {BASH_COMPLETION};" if with_library else ""
    script = (f"{setup} source '{SCRIPT}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1};"
              f" COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}};"
              " _kfk; printf '%s\\n' \"${COMPREPLY[@]}\"")
    env = {k: v for k, v in os.environ.items() if k != "KFK_BROKERS"}
    env["PATH"] = f"{os.path.dirname(KFK)}:{env['PATH']}"
    env.update(env_extra or {})
    r = subprocess.run(["bash", "--norc", "--noprofile", "-ic", script], capture_output=True,
                       text=True, env=env, timeout=30)
    return [w for w in r.stdout.splitlines() if w]


needs_library = pytest.mark.skipif(not os.path.exists(BASH_COMPLETION),
                                   reason="bash-completion not installed")


@needs_library
def test_topic_names_from_the_broker(broker):
    create_topic(broker.bootstrap, "comp-orders")
    create_topic(broker.bootstrap, "comp-payments")
    env = {"KFK_BROKERS": broker.bootstrap}
    assert bash_complete(["kfk", "top"], env) == ["topic"]
    assert bash_complete(["kfk", "topic", "describe", "comp-"], env) == ["comp-orders",
                                                                          "comp-payments"]
    assert bash_complete(["kfk", "consume", "comp-o"], env) == ["comp-orders"]
    assert bash_complete(["kfk", "produce", "comp-p"], env) == ["comp-payments"]
    # `topic create` names a new topic: nothing to offer.
    assert bash_complete(["kfk", "topic", "create", "comp-"], env) == []


@needs_library
def test_brokers_from_the_command_line(broker):
    create_topic(broker.bootstrap, "comp-flag")
    host, port = broker.bootstrap.split(":")
    # bash splits "host:port" at the colon; bash-completion joins it back.
    words = ["kfk", "-b", host, ":", port, "consume", "comp-f"]
    assert bash_complete(words) == ["comp-flag"]


def test_group_names(broker):
    create_topic(broker.bootstrap, "comp-group-topic")
    r = subprocess.run([KFK, "-b", broker.bootstrap, "consume", "comp-group-topic", "-g",
                        "comp-readers", "-o", "earliest", "-e"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    env = {"KFK_BROKERS": broker.bootstrap}
    assert bash_complete(["kfk", "group", "describe", "comp-r"], env,
                         with_library=False) == ["comp-readers"]
    assert bash_complete(["kfk", "consume", "x", "--group", "comp-"], env,
                         with_library=False) == ["comp-readers"]


@needs_library
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_tab_in_an_interactive_bash(broker, tmp_path):
    create_topic(broker.bootstrap, "comp-tab-topic")
    rc = tmp_path / "bashrc"
    rc.write_text(f"source {BASH_COMPLETION}\nsource {SCRIPT}\nPS1='$ '\n"
                  f"export PATH={os.path.dirname(KFK)}:$PATH\n")
    t = Tmux(f"bash --noprofile --rcfile {rc} -i",
             {"KFK_BROKERS": broker.bootstrap, "HOME": str(tmp_path), "TERM": "xterm"})
    try:
        t.wait_screen(lambda s: s.rstrip().endswith("$"), "the bash prompt")
        t.type("kfk top")
        t.send("Tab")
        t.wait_screen(lambda s: "$ kfk topic " in s, "kfk top<TAB>")
        t.type("describe comp-t")
        t.send("Tab")
        t.wait_screen(lambda s: "$ kfk topic describe comp-tab-topic " in s,
                      "the topic name completed")
    finally:
        t.kill()
