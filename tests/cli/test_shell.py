"""kfk shell without a terminal or a broker: lines from a pipe run as on the command line (with
the shell's own global options), quoting as in sh, builtins, errors that leave the shell
running, and the history file. The terminal side (editing, Tab, Ctrl-C) is driven through tmux
in tests/integration/test_shell_tmux.py."""

import json

from test_cli import EXIT_OK, kfk


def shell(lines, *globals_, tmp_path, env=None):
    full_env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
                "HOME": str(tmp_path)}
    full_env.update(env or {})
    return kfk(*globals_, "shell", input="".join(line + "\n" for line in lines), env=full_env)


def test_lines_run_like_command_lines(tmp_path):
    r = shell(["debug error 36", "kfk debug error 3"], tmp_path=tmp_path)
    assert r.returncode == EXIT_OK, r.stderr
    assert "TOPIC_ALREADY_EXISTS (36)" in r.stdout
    assert "UNKNOWN_TOPIC_OR_PARTITION (3)" in r.stdout  # a leading "kfk" is allowed


def test_shell_global_options_apply_to_every_line(tmp_path):
    r = shell(["debug config", "debug config -X acks=0"], "-b", "shellhost:1234", "--output",
              "json", tmp_path=tmp_path)
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["brokers"] for d in docs] == [["shellhost:1234"], ["shellhost:1234"]]
    assert docs[1]["properties"] == {"acks": "0"}


def test_quoting(tmp_path):
    r = shell(["debug error 'TOPIC_ALREADY_EXISTS'", 'debug error "36"', "debug error \\3\\6"],
              tmp_path=tmp_path)
    assert r.stdout.count("TOPIC_ALREADY_EXISTS (36)") == 3


def test_errors_do_not_end_the_shell(tmp_path):
    r = shell(["nope", 'debug error "36', "topic", "shell", "debug error 36"], tmp_path=tmp_path)
    assert r.returncode == EXIT_OK
    assert "unknown command 'nope'" in r.stderr
    assert 'unterminated " quote' in r.stderr
    assert "kfk topic: A subcommand is required" in r.stderr
    assert "already in the shell" in r.stderr
    assert "TOPIC_ALREADY_EXISTS (36)" in r.stdout  # the last line still ran


def test_builtins(tmp_path):
    r = shell(["help", "use", "use something", "exit", "debug error 36"], tmp_path=tmp_path)
    assert r.returncode == EXIT_OK
    assert "use profile NAME" in r.stdout and "Subcommands:" in r.stdout
    assert "no profile in use" in r.stdout
    assert "expected 'use profile NAME'" in r.stderr
    assert "TOPIC_ALREADY_EXISTS" not in r.stdout  # exit left before it


def test_history_file(tmp_path):
    shell(["debug error 36", "   ", "debug config"], tmp_path=tmp_path)
    history = (tmp_path / "state" / "kfk" / "history").read_text()
    assert "debug\\040error\\04036" in history or "debug error 36" in history
    assert "debug\\040config" in history or "debug config" in history
    # Without XDG_STATE_HOME: ~/.local/state/kfk/history.
    kfk("shell", input="debug config\n", env={"HOME": str(tmp_path / "home"),
                                               "XDG_STATE_HOME": ""})
    assert (tmp_path / "home" / ".local" / "state" / "kfk" / "history").is_file()


def test_kfk_alone_without_a_terminal_prints_help(tmp_path):
    r = kfk(env={"HOME": str(tmp_path)})
    assert r.returncode == 2
    assert "Subcommands:" in r.stderr
