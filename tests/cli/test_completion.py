"""kfk completion and the hidden kfk __complete: the committed scripts in completions/ are what
the binary prints, the bash script completes commands and options through `bash -ic`, and the
candidates follow the command tree. Topic and group names, which need a broker, are checked in
tests/integration/test_shell_completion.py."""

import os
import shutil
import subprocess

import pytest

from test_cli import EXIT_OK, EXIT_USAGE, KFK, REPO, kfk

SCRIPTS = {"bash": "kfk.bash", "zsh": "_kfk", "fish": "kfk.fish"}


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_committed_scripts_are_current(shell):
    r = kfk("completion", shell)
    assert r.returncode == EXIT_OK
    committed = (REPO / "completions" / SCRIPTS[shell]).read_text()
    assert r.stdout == committed, (
        f"completions/{SCRIPTS[shell]} is stale: run `make completions` (or "
        f"`kfk completion {shell} > completions/{SCRIPTS[shell]}`)")


def test_unknown_shell_is_a_usage_error():
    r = kfk("completion", "tcsh")
    assert r.returncode == EXIT_USAGE


def test_bash_script_parses():
    subprocess.run(["bash", "-n", str(REPO / "completions" / "kfk.bash")], check=True)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_script_parses():
    subprocess.run(["zsh", "-n", str(REPO / "completions" / "_kfk")], check=True)


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_parses():
    subprocess.run(["fish", "-n", str(REPO / "completions" / "kfk.fish")], check=True)


def complete(*words, shell="bash"):
    r = kfk("__complete", "--shell", shell, "--", *words)
    assert r.returncode == EXIT_OK, r.stderr
    return r.stdout.splitlines()


def test_top_level_commands():
    words = complete("")
    for name in ("topic", "produce", "consume", "group", "perf", "shell", "completion"):
        assert name in words
    assert "debug" not in words and "__complete" not in words and "__man" not in words
    assert complete("top") == ["topic"]
    p_words = complete("p")
    assert {"produce", "perf"} <= set(p_words) and all(w.startswith("p") for w in p_words)


def test_subcommands_and_options():
    assert "create" in complete("topic", "")
    assert complete("topic", "cr") == ["create"]
    options = complete("topic", "create", "--")
    assert "--partitions" in options and "--if-not-exists" in options
    assert "--brokers" in options  # global options fall through to every command
    assert complete("topic", "create", "--if-not") == ["--if-not-exists"]


def test_flags_do_not_swallow_the_next_word():
    # --if-not-exists is a flag: the word after it is the topic name position again, not its value.
    assert complete("topic", "create", "--if-not-exists", "--par") == ["--partitions"]
    # -p takes a value: after it nothing is offered (a number is expected).
    assert complete("topic", "create", "-p", "") == []


def test_descriptions_for_zsh_and_fish():
    fish = complete("topic", "cr", shell="fish")
    assert len(fish) == 1 and fish[0].startswith("create\t") and len(fish[0]) > len("create\t")
    zsh = complete("topic", "cr", shell="zsh")
    assert zsh[0].startswith("create:")


def test_unreachable_broker_is_silent_and_quick():
    r = kfk("__complete", "--", "-b", "127.0.0.1:1", "consume", "")
    assert r.returncode == EXIT_OK
    assert r.stdout == "" and r.stderr == ""


def bash_complete(line, *, with_bash_completion=True, words=None):
    """Runs the committed bash script's _kfk for `line` (the cursor at its end) in `bash -ic`;
    returns COMPREPLY."""
    words = words if words is not None else line.split(" ")
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    setup = "source /usr/share/bash-completion/bash_completion;" if with_bash_completion else ""
    script = (f"{setup} source '{REPO / 'completions' / 'kfk.bash'}';"
              f" COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1};"
              f" COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}};"
              " _kfk; printf '%s\\n' \"${COMPREPLY[@]}\"")
    env = {k: v for k, v in os.environ.items() if k != "KFK_BROKERS"}
    env["PATH"] = f"{KFK.parent}:{env['PATH']}"
    r = subprocess.run(["bash", "--norc", "--noprofile", "-ic", script], capture_output=True,
                       text=True, env=env, timeout=30)
    return [w for w in r.stdout.splitlines() if w]


@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/bash_completion"),
                    reason="bash-completion not installed")
def test_bash_completes_commands():
    assert bash_complete("kfk top") == ["topic"]
    assert bash_complete("kfk topic cr") == ["create"]
    assert bash_complete("kfk topic create --if-n") == ["--if-not-exists"]


def test_bash_completes_without_bash_completion_library():
    assert bash_complete("kfk top", with_bash_completion=False) == ["topic"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_completes_with_descriptions():
    env = dict(os.environ, PATH=f"{KFK.parent}:{os.environ['PATH']}")
    env.pop("KFK_BROKERS", None)
    script = f"source {REPO / 'completions' / 'kfk.fish'}; complete -C 'kfk topic cr'"
    r = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.stdout.splitlines() == ["create\tCreate a topic"]


def test_values_from_a_fixed_set():
    assert complete("perf", "produce", "t", "--acks", "") == ["0", "1", "all", "-1"]
    assert complete("perf", "produce", "t", "-z", "l") == ["lz4"]
    assert "json" in complete("--output", "")


def test_profile_names(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    for name in ("alpha", "beta"):
        assert kfk("profile", "create", name, "-b", f"{name}:9092", env=env).returncode == EXIT_OK

    def comp(*words):
        r = kfk("__complete", "--", *words, env=env)
        return r.stdout.splitlines()

    assert comp("--profile", "") == ["alpha", "beta"]
    assert comp("profile", "use", "b") == ["beta"]
    assert comp("profile", "create", "") == []  # a new name


def test_arguments_that_name_nothing_get_no_candidates_and_choices_are_offered():
    assert complete("debug", "error", "") == []
    assert complete("completion", "") == ["bash", "zsh", "fish"]
