"""Black-box tests of the kfk command line: help, version, global options, exit codes.

Runs the binary named by KFK_BIN (default: build/src/cli/kfk, then the build/debug and
build/release trees, relative to the repository root).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Mirrors src/cli/exit_codes.h.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_KAFKA = 3
EXIT_NOT_AVAILABLE = 5

COMMANDS = ["server", "topic", "produce", "consume", "group", "connect", "schema"]


def find_kfk():
    if os.environ.get("KFK_BIN"):
        return Path(os.environ["KFK_BIN"]).resolve()
    for candidate in ("build/src/cli/kfk", "build/debug/src/cli/kfk", "build/release/src/cli/kfk"):
        if (REPO / candidate).is_file():
            return REPO / candidate
    return REPO / "build/src/cli/kfk"


KFK = find_kfk()


@pytest.fixture(scope="session", autouse=True)
def kfk_binary():
    if not KFK.is_file():
        pytest.fail(f"kfk binary not found at {KFK}; build it or set KFK_BIN")


def kfk(*args, env=None, input=None):
    full_env = {k: v for k, v in os.environ.items() if k != "KFK_BROKERS"}
    full_env.update(env or {})
    return subprocess.run(
        [str(KFK), *args], capture_output=True, text=True, env=full_env, timeout=30,
        input=input, stdin=None if input is not None else subprocess.DEVNULL,
    )


def test_help_lists_every_command():
    r = kfk("--help")
    assert r.returncode == EXIT_OK
    for name in COMMANDS:
        lines = [line for line in r.stdout.splitlines() if line.strip().startswith(name + " ")]
        assert lines, f"{name} missing from --help"
        assert len(lines[0].split(None, 1)) == 2, f"{name} has no description"
    assert "debug" not in r.stdout.split("Subcommands:")[1].split("Exit status:")[0]


def test_help_documents_exit_codes_and_environment():
    out = kfk("--help").stdout
    assert "Exit status:" in out
    assert "KFK_BROKERS" in out
    for code in ("0", "1", "2", "3", "4", "5"):
        assert any(line.split()[:1] == [code] for line in out.splitlines())


def test_version():
    r = kfk("--version")
    assert r.returncode == EXIT_OK
    assert r.stdout.startswith("kfk ")
    version = r.stdout.split()[1]
    assert version[0].isdigit() and version.count(".") >= 2


def test_no_command_is_a_usage_error():
    r = kfk()
    assert r.returncode == EXIT_USAGE
    assert "Usage:" in r.stderr


def test_unknown_command():
    r = kfk("frobnicate")
    assert r.returncode == EXIT_USAGE
    assert "unknown command 'frobnicate'" in r.stderr
    assert "--help" in r.stderr


def test_unknown_option():
    r = kfk("--no-such-option", "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "--no-such-option" in r.stderr


@pytest.mark.parametrize("value", ["badvalue", "=x", "bad key=1"])
def test_property_must_be_key_value(value):
    r = kfk("-X", value, "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "KEY=VALUE" in r.stderr or "invalid property name" in r.stderr


def test_output_must_be_text_or_json():
    r = kfk("--output", "yaml", "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "yaml" in r.stderr


@pytest.mark.parametrize("brokers", ["", "host:0", "host:99999", "a,,b", "::1", "ho st:1"])
def test_bad_broker_lists_are_rejected(brokers):
    r = kfk("-b", brokers, "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "--brokers" in r.stderr


def test_quiet_and_verbose_exclude_each_other():
    assert kfk("-q", "-v", "debug", "config").returncode == EXIT_USAGE


def test_server_without_subcommand_is_a_usage_error():
    r = kfk("server")
    assert r.returncode == EXIT_USAGE


def test_server_start_refuses_invalid_settings(tmp_path):
    r = kfk("server", "start", "--set", f"log.dirs={tmp_path}", "--set", "num.partitions=0")
    assert r.returncode == EXIT_USAGE
    assert "num.partitions" in r.stderr
    assert r.stdout == ""


def test_server_format_writes_meta_properties(tmp_path):
    r = kfk("server", "format", "--set", f"log.dirs={tmp_path}", "--cluster-id", "MkU3OEVBNTcwNTJENDM2Qg")
    assert r.returncode == EXIT_OK, r.stderr
    meta = (tmp_path / "meta.properties").read_text()
    assert "cluster.id=MkU3OEVBNTcwNTJENDM2Qg" in meta
    assert "node.id=1" in meta
    # A directory of another cluster is refused.
    r = kfk("server", "format", "--set", f"log.dirs={tmp_path}", "--cluster-id", "AAAAAAAAAAAAAAAAAAAAAA")
    assert r.returncode == EXIT_ERROR
    assert "belongs to cluster" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["connect"],
        ["schema", "list"],
    ],
)
def test_commands_not_available_yet(args):
    r = kfk(*args)
    assert r.returncode == EXIT_NOT_AVAILABLE, r.stderr
    assert r.stderr.startswith(f"kfk {args[0]}")
    assert "not available yet in this version" in r.stderr or "not implemented yet" in r.stderr


@pytest.mark.parametrize("name", ["connect", "schema"])
def test_command_help_says_not_available(name):
    r = kfk(name, "--help")
    assert r.returncode == EXIT_OK
    assert "not available yet in this version" in r.stdout


def test_group_help_lists_its_subcommands():
    r = kfk("group", "--help")
    assert r.returncode == EXIT_OK
    for verb in ["list", "describe", "reset-offsets", "delete", "delete-offsets"]:
        assert any(line.strip().split(",")[0].split()[0] == verb
                   for line in r.stdout.splitlines() if line.strip()), verb
    assert "not available" not in r.stdout


def test_group_reset_offsets_needs_one_mode():
    # Checked before any broker is contacted.
    r = kfk("-b", "127.0.0.1:1", "group", "reset-offsets", "g", "--topic", "t")
    assert r.returncode == EXIT_USAGE
    assert "exactly one of" in r.stderr


@pytest.mark.parametrize("name", ["topic", "produce", "consume", "group"])
def test_client_commands_report_an_unreachable_broker(name):
    args = {"topic": ["topic", "list"], "produce": ["produce", "t1"],
            "consume": ["consume", "t1", "-e"], "group": ["group", "list"]}[name]
    r = kfk("-b", "127.0.0.1:1", *args, input="x\n")
    assert r.returncode == 4, r.stderr
    assert "127.0.0.1:1" in r.stderr


def config(*args, env=None):
    r = kfk("-o", "json", *args, "debug", "config", env=env)
    assert r.returncode == EXIT_OK, r.stderr
    return json.loads(r.stdout)


def test_defaults():
    c = config()
    assert c["brokers"] == ["localhost:9092"]
    assert c["properties"] == {}
    assert c["output"] == "json"
    assert c["verbosity"] == 0
    assert c["quiet"] is False


def test_brokers_from_environment():
    c = config(env={"KFK_BROKERS": "k1:9093, k2"})
    assert c["brokers"] == ["k1:9093", "k2:9092"]


def test_brokers_option_beats_environment():
    c = config("-b", "[::1]:9094", env={"KFK_BROKERS": "k1:9093"})
    assert c["brokers"] == ["[::1]:9094"]


def test_properties_are_collected():
    c = config("-X", "acks=all", "-X", "client.id=me", "-X", "acks=1", "-X", "sasl.password=")
    assert c["properties"] == {"acks": "1", "client.id": "me", "sasl.password": ""}


def test_verbosity_counts():
    assert config("-vvv")["verbosity"] == 3
    assert config("-v", "-v")["verbosity"] == 2
    assert config("-q")["quiet"] is True


def test_global_options_after_the_command():
    r = kfk("debug", "config", "-b", "after:1", "-X", "a=b", "--output", "json", "-v")
    assert r.returncode == EXIT_OK, r.stderr
    c = json.loads(r.stdout)
    assert c["brokers"] == ["after:1"]
    assert c["properties"] == {"a": "b"}
    assert c["verbosity"] == 1


def test_text_output():
    r = kfk("debug", "config", env={"KFK_BROKERS": "envhost:1234"})
    assert r.returncode == EXIT_OK
    assert "envhost:1234" in r.stdout


def test_verbose_logs_go_to_stderr():
    r = kfk("-vv", "debug", "config")
    assert r.returncode == EXIT_OK
    assert "debug" in r.stderr
    assert "debug:" not in r.stdout


def test_error_lookup():
    r = kfk("-o", "json", "debug", "error", "36")
    assert r.returncode == EXIT_OK
    e = json.loads(r.stdout)
    assert e["name"] == "TOPIC_ALREADY_EXISTS"
    assert e["retriable"] is False
    assert e["hint"]
    by_name = json.loads(kfk("-o", "json", "debug", "error", "unknown_topic_or_partition").stdout)
    assert by_name["code"] == 3 and by_name["retriable"] is True
    assert kfk("debug", "error", "NO_SUCH_ERROR").returncode == EXIT_USAGE


def test_broker_errors_exit_with_the_kafka_code_and_a_hint():
    r = kfk("debug", "error", "--fail", "TOPIC_ALREADY_EXISTS")
    assert r.returncode == EXIT_KAFKA
    assert r.stderr.startswith("kfk debug error: TOPIC_ALREADY_EXISTS (36): ")
    assert "\nhint: " in r.stderr
    r = kfk("debug", "error", "--fail", "999")
    assert r.returncode == EXIT_KAFKA
    assert "UNKNOWN_ERROR_CODE (999)" in r.stderr
