"""Connection profiles: `kfk profile create|use|list|show|delete` in a temporary
$XDG_CONFIG_HOME (or $HOME/.config), and the precedence of the settings: flag > environment >
profile > default. The last test reaches a broker through a profile alone."""

import json
import os
import subprocess

import pytest

from conftest import KFK

EXIT_USAGE = 2


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items()
         if k not in ("KFK_BROKERS", "KFK_PROFILE", "XDG_CONFIG_HOME")}
    e["HOME"] = str(home)
    e["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return e


def run(env, *args, stdin=None, extra_env=None):
    return subprocess.run([KFK, *args], capture_output=True, text=True, timeout=60, input=stdin,
                          env={**env, **(extra_env or {})})


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def effective(env, *args, extra_env=None):
    return json.loads(ok(run(env, "--output", "json", *args, "profile", "show",
                             extra_env=extra_env)).stdout)


def test_create_use_list_show_delete(env, tmp_path):
    r = ok(run(env, "profile", "create", "local", "-b", "localhost:9092", "--use"))
    assert r.stdout == "Created profile local (current).\n"
    ok(run(env, "profile", "create", "prod", "-b", "k1:9093,k2", "--client-id", "me",
           "-X", "request.timeout.ms=5000"))
    path = tmp_path / "xdg" / "kfk" / "config.toml"
    text = path.read_text()
    assert 'current = "local"' in text and "[profiles.prod]" in text
    assert '"request.timeout.ms" = "5000"' in text

    assert ok(run(env, "--output", "table", "profile", "list")).stdout.splitlines() == [
        "* local  localhost:9092", "  prod  k1:9093,k2"]
    listed = json.loads(ok(run(env, "--output", "json", "profile", "list")).stdout)
    assert [(p["name"], p["current"]) for p in listed] == [("local", True), ("prod", False)]
    # JSON by default when piped, as every listing.
    assert json.loads(ok(run(env, "profile", "list")).stdout) == listed
    shown = json.loads(ok(run(env, "profile", "show", "prod")).stdout)
    assert shown == {"name": "prod", "current": False, "brokers": "k1:9093,k2",
                     "client_id": "me", "properties": {"request.timeout.ms": "5000"}}

    assert ok(run(env, "profile", "use", "prod")).stdout == "Using profile prod.\n"
    e = effective(env)
    assert e["profile"] == "prod" and e["profile_source"] == "current"
    assert e["brokers"] == "k1:9093,k2:9092" and e["brokers_source"] == "profile prod"
    assert e["client_id"] == "me" and e["properties"]["request.timeout.ms"] == "5000"

    assert ok(run(env, "profile", "delete", "prod")).stdout == "Deleted profile prod.\n"
    e = effective(env)
    assert e["profile"] is None and e["brokers"] == "localhost:9092"
    assert e["brokers_source"] == "default"

    r = run(env, "profile", "use", "nope")
    assert r.returncode == EXIT_USAGE and "hint:" in r.stderr
    r = run(env, "profile", "create", "bad name", "-b", "h")
    assert r.returncode == EXIT_USAGE
    r = run(env, "profile", "create", "nobrokers")
    assert r.returncode == EXIT_USAGE and "-b" in r.stderr
    r = run(env, "profile", "create", "badprop", "-b", "h", "-X", "acks=maybe")
    assert r.returncode == EXIT_USAGE and "acks" in r.stderr


def test_a_new_profile_is_current_only_with_use(env):
    r = ok(run(env, "profile", "create", "first", "-b", "a:1"))
    assert r.stdout == "Created profile first.\n"
    e = effective(env)
    assert e["profile"] is None and e["brokers_source"] == "default"
    ok(run(env, "profile", "create", "second", "-b", "b:2", "--use"))
    assert effective(env)["profile"] == "second"
    ok(run(env, "profile", "create", "third", "-b", "c:3"))
    assert effective(env)["profile"] == "second"


def test_strings_are_escaped_in_the_file_json_and_yaml(env, tmp_path):
    """The exact bytes of a value that needs escapes: quotes, a backslash, a control character,
    a tab, UTF-8 and ": " (which YAML must quote)."""
    client_id = 'c"\\\x01\t\u00e9: x'
    ok(run(env, "profile", "create", "p1", "-b", "h:1", "--client-id", client_id,
           "-X", 'client.id=a"b', "--use"))
    text = (tmp_path / "xdg" / "kfk" / "config.toml").read_text()
    assert text.endswith('current = "p1"\n\n[profiles.p1]\nbrokers = "h:1"\n'
                         'client_id = "c\\"\\\\\\u0001\\t\u00e9: x"\n\n'
                         '[profiles.p1.properties]\n"client.id" = "a\\"b"\n')
    r = ok(run(env, "--output", "json", "profile", "show", "p1"))
    assert r.stdout == ('{"name":"p1","current":true,"brokers":"h:1",'
                        '"client_id":"c\\"\\\\\\u0001\\t\u00e9: x",'
                        '"properties":{"client.id":"a\\"b"}}\n')
    assert json.loads(r.stdout)["client_id"] == client_id
    r = ok(run(env, "--output", "yaml", "profile", "list"))
    assert r.stdout == ('- name: p1\n  current: true\n  brokers: h:1\n'
                        '  client_id: "c\\"\\\\\\x01\\t\u00e9: x"\n'
                        '  properties:\n    client.id: "a\\"b"\n')


def test_a_delete_character_is_escaped_in_the_file(env, tmp_path):
    """TOML refuses a raw DEL (0x7f) in a string: the file writes it as \\u007f, so the profile
    still reads back (and every later profile command still works)."""
    client_id = "a\x7fb"
    ok(run(env, "profile", "create", "p1", "-b", "h:1", "--client-id", client_id, "--use"))
    text = (tmp_path / "xdg" / "kfk" / "config.toml").read_text()
    assert 'client_id = "a\\u007fb"\n' in text
    assert json.loads(ok(run(env, "--output", "json", "profile", "show", "p1")).stdout)[
        "client_id"] == client_id
    ok(run(env, "profile", "create", "p2", "-b", "h:2"))


def test_home_config_without_xdg(env, tmp_path):
    del env["XDG_CONFIG_HOME"]
    ok(run(env, "profile", "create", "p", "-b", "h:1"))
    assert (tmp_path / "home" / ".config" / "kfk" / "config.toml").is_file()
    assert effective(env)["file"] == str(tmp_path / "home" / ".config" / "kfk" / "config.toml")


def test_precedence_flag_then_environment_then_profile(env):
    ok(run(env, "profile", "create", "a", "-b", "a:1", "--client-id", "from-a",
           "-X", "acks=1", "-X", "linger.ms=7", "--use"))
    ok(run(env, "profile", "create", "b", "-b", "b:2"))

    e = effective(env)
    assert (e["profile"], e["brokers"], e["brokers_source"]) == ("a", "a:1", "profile a")
    e = effective(env, extra_env={"KFK_BROKERS": "env:3"})
    assert (e["brokers"], e["brokers_source"]) == ("env:3", "KFK_BROKERS")
    e = effective(env, "-b", "flag:4", extra_env={"KFK_BROKERS": "env:3"})
    assert (e["brokers"], e["brokers_source"]) == ("flag:4", "--brokers")

    e = effective(env, extra_env={"KFK_PROFILE": "b"})
    assert (e["profile"], e["profile_source"], e["brokers"]) == ("b", "KFK_PROFILE", "b:2")
    e = effective(env, "--profile", "a", extra_env={"KFK_PROFILE": "b"})
    assert (e["profile"], e["profile_source"], e["brokers"]) == ("a", "--profile", "a:1")

    # -X and --client-id beat the profile's properties and client id.
    e = effective(env, "-X", "acks=all", "--client-id", "flag-id")
    assert e["properties"] == {"acks": "all", "linger.ms": "7", "client.id": "flag-id"}
    e = effective(env, "-X", "client.id=x-id")
    assert e["client_id"] == "x-id"

    # A missing profile stops client commands (usage error, with a hint), not `profile`.
    r = run(env, "consume", "t", "-e", extra_env={"KFK_PROFILE": "missing"})
    assert r.returncode == EXIT_USAGE
    assert "no profile named 'missing'" in r.stderr and "hint:" in r.stderr
    ok(run(env, "profile", "list", extra_env={"KFK_PROFILE": "missing"}))


def test_broken_file_is_reported(env, tmp_path):
    path = tmp_path / "xdg" / "kfk" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.x]\nbrokers = \n")
    r = run(env, "profile", "list")
    assert r.returncode == 1 and "config.toml" in r.stderr
    r = run(env, "produce", "t", stdin="x\n")
    assert r.returncode == EXIT_USAGE and "config.toml" in r.stderr


def test_a_profile_reaches_the_broker(env, broker):
    ok(run(env, "profile", "create", "here", "-b", broker.bootstrap, "--use"))
    ok(run(env, "topic", "create", "viaprofile"))
    ok(run(env, "produce", "viaprofile", stdin="hello\n"))
    assert ok(run(env, "consume", "viaprofile", "-o", ":end")).stdout == "hello\n"
    # A flag still wins over the profile: an unreachable broker fails.
    r = run(env, "-b", "127.0.0.1:1", "consume", "viaprofile", "-o", ":end")
    assert r.returncode == 4
