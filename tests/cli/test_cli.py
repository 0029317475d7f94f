"""Black-box tests of the kfk command line: help, version, global options, exit codes.

Runs the binary named by KFK_BIN (default: build/src/cli/kfk, then the build/debug and
build/release trees, relative to the repository root).
"""

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Mirrors src/cli/exit_codes.h.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_KAFKA = 3
EXIT_CONNECTION = 4
EXIT_NOT_AVAILABLE = 5
EXIT_INTERRUPTED = 130

COMMANDS = ["server", "topic", "produce", "consume", "group", "connect", "schema", "help"]


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
    for name in ("KFK_BROKERS", "KFK_PROFILE", "NO_COLOR"):
        assert name in out
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


@pytest.mark.parametrize("args,typed,meant", [
    (["tpoic", "list"], "tpoic", "topic"),
    (["cosnume", "t"], "cosnume", "consume"),
    (["topic", "lsit"], "lsit", "list"),
    (["group", "descirbe", "g"], "descirbe", "describe"),
    (["help", "topic", "craete"], "craete", "create"),
])
def test_mistyped_command_suggests_the_close_one(args, typed, meant):
    r = kfk(*args)
    assert r.returncode == EXIT_USAGE
    assert f"'{typed}'" in r.stderr and f"did you mean '{meant}'?" in r.stderr
    assert r.stderr.count(typed) == 1  # said once


def test_unknown_command_far_from_any_suggests_nothing():
    r = kfk("frobnicate")
    assert "did you mean" not in r.stderr


def test_output_format_given_as_offset_inside_consume():
    """Inside consume -o is --offset: `-o json` there gets a hint about --output json."""
    r = kfk("consume", "t", "-o", "json")
    assert r.returncode == EXIT_USAGE
    assert "invalid offset 'json'" in r.stderr and "--output json" in r.stderr


def test_unknown_option():
    r = kfk("--no-such-option", "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "--no-such-option" in r.stderr


@pytest.mark.parametrize("value", ["badvalue", "=x", "bad key=1"])
def test_property_must_be_key_value(value):
    r = kfk("-X", value, "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "KEY=VALUE" in r.stderr or "invalid property name" in r.stderr


def test_output_format_is_checked():
    r = kfk("--output", "xml", "debug", "config")
    assert r.returncode == EXIT_USAGE
    assert "xml" in r.stderr
    for name in ("auto", "table", "text", "json", "yaml"):
        assert kfk("--output", name, "debug", "config").returncode == EXIT_OK, name


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
    assert "not available in this version" in r.stderr
    assert "comes in a later release" in r.stderr


@pytest.mark.parametrize("name", ["connect", "schema"])
def test_command_help_says_not_available(name):
    r = kfk(name, "--help")
    assert r.returncode == EXIT_OK
    assert "later release" in r.stdout


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


def test_config_json_bytes():
    """The exact line: keys in order, strings escaped as JSON (control characters as \\u00XX;
    DEL and UTF-8 as they are)."""
    r = kfk("-o", "json", "-b", "k1:9093,[::1]", "-X", 'x.y=a"b\\c\x01\x1f\x7f\t\u00e9', "-X", "a=",
            "-vv", "debug", "config")
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == ('{"brokers":["k1:9093","[::1]:9092"],"properties":{"a":"",'
                        '"x.y":"a\\"b\\\\c\\u0001\\u001f\x7f\\t\u00e9"},"output":"json",'
                        '"verbosity":2,"quiet":false}\n')


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


def test_error_lookup_json_is_compact():
    r = kfk("-o", "json", "debug", "error", "36")
    doc = json.loads(r.stdout)
    assert list(doc) == ["code", "name", "retriable", "message", "hint"]
    assert r.stdout == json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert r.stdout.startswith('{"code":36,"name":"TOPIC_ALREADY_EXISTS","retriable":false,')


def test_broker_errors_exit_with_the_kafka_code_and_a_hint():
    r = kfk("debug", "error", "--fail", "TOPIC_ALREADY_EXISTS")
    assert r.returncode == EXIT_KAFKA
    assert r.stderr.startswith("kfk debug error: TOPIC_ALREADY_EXISTS (36): ")
    assert "\nhint: " in r.stderr
    r = kfk("debug", "error", "--fail", "999")
    assert r.returncode == EXIT_KAFKA
    assert "UNKNOWN_ERROR_CODE (999)" in r.stderr


# --- kfk help, exit codes, output formats and colors (no broker needed) -------------------

EXIT_CODES = {0: "ok", 1: "error", 2: "usage", 3: "kafka", 4: "connection", 5: "not-available",
              6: "damaged", 130: "interrupted"}


def test_help_exit_codes_table():
    r = kfk("help", "exit-codes")
    assert r.returncode == EXIT_OK, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "MEANING"]
    rows = {int(line.split()[0]): line.split()[1] for line in lines[1:]}
    assert rows == EXIT_CODES
    assert "\x1b[" not in r.stdout  # no colors into a pipe


def test_help_exit_codes_json_shape():
    r = kfk("-o", "json", "help", "exit-codes")
    assert r.returncode == EXIT_OK, r.stderr
    codes = json.loads(r.stdout)
    assert [c["code"] for c in codes] == sorted(EXIT_CODES)
    for c in codes:
        assert set(c) == {"code", "name", "meaning"}
        assert EXIT_CODES[c["code"]] == c["name"] and c["meaning"]


def test_help_exit_codes_yaml_matches_json():
    r = kfk("-o", "yaml", "help", "exit-codes")
    assert r.returncode == EXIT_OK, r.stderr
    # Plain where safe, quoted where a plain scalar would not read back as the same string.
    assert r.stdout.startswith("- code: 0\n  name: ok\n  meaning: success\n"), r.stdout
    assert '  meaning: "no broker reachable, or connection lost"\n' in r.stdout
    yaml = pytest.importorskip("yaml")
    as_json = json.loads(kfk("-o", "json", "help", "exit-codes").stdout)
    assert yaml.safe_load(r.stdout) == as_json


def test_help_of_a_command():
    r = kfk("help", "topic", "create")
    assert r.returncode == EXIT_OK
    assert "--if-not-exists" in r.stdout and "--dry-run" in r.stdout
    assert kfk("help", "topic").stdout == kfk("topic", "--help").stdout
    alone = kfk("help")
    assert alone.returncode == EXIT_OK and alone.stdout == kfk("--help").stdout
    r = kfk("help", "topic", "frobnicate")
    assert r.returncode == EXIT_USAGE
    assert "frobnicate" in r.stderr and "hint:" in r.stderr


@pytest.mark.parametrize("args", [["topic", "list"], ["topic", "describe", "t"],
                                  ["topic", "offsets", "t"], ["group", "list"],
                                  ["group", "describe", "g"]])
def test_listing_help_documents_the_json_shape(args):
    r = kfk(*args, "--help")
    assert r.returncode == EXIT_OK
    assert "JSON: [{" in r.stdout
    assert "a table on a terminal, else JSON" in r.stdout


def test_topic_help_lists_its_subcommands():
    r = kfk("topic", "--help")
    assert r.returncode == EXIT_OK
    for verb in ["create", "list", "describe", "delete", "alter-config", "add-partitions", "trim",
                 "offsets"]:
        assert any(line.strip().split(",")[0].split()[0] == verb
                   for line in r.stdout.splitlines() if line.strip()), verb


@pytest.mark.parametrize("args", [
    ["topic", "delete", "t1"],
    ["topic", "delete", "--regex", "t.*"],
    ["topic", "trim", "t1", "--offset", "5"],
])
def test_destructive_topic_commands_need_yes_without_a_terminal(args):
    # Refused before any broker is contacted: port 1 would give exit 4.
    r = kfk("-b", "127.0.0.1:1", *args)
    assert r.returncode == EXIT_USAGE, r.stderr
    assert "--yes" in r.stderr and "confirmation" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["topic", "trim", "t1", "--yes"], "either --offset or --before-time"),
    (["topic", "trim", "t1", "--yes", "--offset", "5", "--before-time", "-1h"],
     "either --offset or --before-time"),
    (["topic", "trim", "t1", "--yes", "--offset", "x"], "bad --offset 'x'"),
    (["topic", "trim", "t1", "--yes", "--offset", "0=-3"], "bad --offset '0=-3'"),
    (["topic", "trim", "t1", "--yes", "--offset", "5", "--offset", "1=3"], "every partition"),
    (["topic", "trim", "t1", "--yes", "--before-time", "yesterday"], "is not a time"),
    (["topic", "offsets", "t1", "--at", "-5 parsecs"], "is not a time"),
    (["topic", "create", "t1", "-p", "0"], "--partitions"),
    (["topic", "add-partitions", "t1"], "--partitions"),
])
def test_topic_usage_errors_before_connecting(args, message):
    r = kfk("-b", "127.0.0.1:1", *args)
    assert r.returncode == EXIT_USAGE, r.stderr
    assert message in r.stderr


def test_trim_dry_run_needs_no_confirmation():
    # Goes as far as connecting: the unreachable broker is the error, not --yes.
    r = kfk("-b", "127.0.0.1:1", "topic", "trim", "t1", "--offset", "end", "--dry-run")
    assert r.returncode == EXIT_CONNECTION, r.stderr


def run_on_terminal(*args, env=None):
    """Runs kfk with stdout on a pseudo-terminal; returns (exit code, output)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("KFK_BROKERS", "NO_COLOR")}
    full_env.update(env or {})
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([str(KFK), *args], stdout=follower, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=full_env)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        return proc.wait(timeout=30), b"".join(chunks).decode()
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)


def test_colors_only_on_a_terminal_and_never_with_no_color():
    code, out = run_on_terminal("help", "exit-codes")
    assert code == EXIT_OK
    assert "\x1b[1mCODE\x1b[0m" in out  # bold header
    code, out = run_on_terminal("help", "exit-codes", env={"NO_COLOR": "1"})
    assert code == EXIT_OK
    assert "\x1b[" not in out and "CODE" in out
    # An empty NO_COLOR does not count (no-color.org).
    code, out = run_on_terminal("help", "exit-codes", env={"NO_COLOR": ""})
    assert "\x1b[1m" in out


@pytest.mark.parametrize("args", [
    ["--tls"],
    ["--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "u", "--sasl-password", "p"],
    ["-X", "security.protocol=SSL"],
    ["-X", "security.protocol=sasl_plaintext"],
])
def test_tls_and_sasl_are_refused_rather_than_sent_in_plaintext(args):
    r = kfk(*args, "topic", "list", "-b", "127.0.0.1:1")
    assert r.returncode == EXIT_NOT_AVAILABLE, r.stderr
    assert "TLS and SASL are not available in this version" in r.stderr
    assert "hint:" in r.stderr
