"""Man pages: the committed man/*.1 are what `kfk __man` generates from the command tree
(so they never go stale), and they render with man(1) without groff warnings."""

import os
import re
import shutil
import subprocess

import pytest

from test_cli import EXIT_OK, REPO, kfk

MAN_DIR = REPO / "man"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("man")
    r = kfk("__man", str(out))
    assert r.returncode == EXIT_OK, r.stderr
    return out


def test_committed_pages_are_current(generated):
    fresh = sorted(p.name for p in generated.glob("*.1"))
    committed = sorted(p.name for p in MAN_DIR.glob("*.1"))
    assert fresh == committed, "man/ is stale: run `make man` (kfk __man man)"
    for name in fresh:
        assert (generated / name).read_text() == (MAN_DIR / name).read_text(), (
            f"man/{name} is stale: run `make man` (kfk __man man)")


def test_a_page_per_visible_command(generated):
    names = {p.name for p in generated.glob("*.1")}
    for command in ("topic", "produce", "consume", "group", "perf", "shell", "completion"):
        assert f"kfk-{command}.1" in names
    assert "kfk.1" in names
    assert "kfk-debug.1" not in names and "kfk-__complete.1" not in names


def test_stale_pages_are_removed(tmp_path):
    (tmp_path / "kfk-gone.1").write_text(".TH GONE 1\n")
    (tmp_path / "other.1").write_text(".TH OTHER 1\n")
    assert kfk("__man", str(tmp_path)).returncode == EXIT_OK
    assert not (tmp_path / "kfk-gone.1").exists()
    assert (tmp_path / "other.1").exists()


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db not installed")
def test_topic_page_renders():
    env = dict(os.environ, MANWIDTH="100", LANG="C", LC_ALL="C")
    r = subprocess.run(["man", "-l", str(MAN_DIR / "kfk-topic.1")], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    text = re.sub(".\x08", "", r.stdout)  # drop the overstrikes of bold and underline
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "SEE ALSO"):
        assert heading in text
    assert "kfk-topic - " in text
    assert "kfk topic create" in text and "--partitions" in text
    assert "kfk(1)" in text


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
def test_pages_have_no_groff_warnings():
    for page in sorted(MAN_DIR.glob("*.1")):
        r = subprocess.run(["groff", "-man", "-ww", "-z", str(page)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", f"{page.name}: {r.stderr}"


def test_main_page_lists_commands_exit_codes_and_environment():
    text = (MAN_DIR / "kfk.1").read_text()
    assert "KFK_BROKERS" in text and "XDG_STATE_HOME" in text
    for code in ("0", "1", "2", "3", "4", "5", "130"):
        assert f".B {code}\n" in text
    assert "\\fBkfk\\-topic\\fR(1)" in text


@pytest.mark.parametrize("page", ["kfk.1", "kfk-topic.1", "kfk-consume.1", "kfk-produce.1",
                                  "kfk-group.1", "kfk-profile.1"])
def test_pages_have_examples_environment_and_files(generated, page):
    text = (generated / page).read_text()
    for section in (".SH EXAMPLES", ".SH ENVIRONMENT", ".SH FILES"):
        assert section in text, f"{page}: no {section}"
    for name in ("KFK_BROKERS", "KFK_PROFILE", "NO_COLOR", "kfk/config.toml"):
        assert name in text, f"{page}: {name} missing"
    examples = text[text.index(".SH EXAMPLES"):text.index(".SH ENVIRONMENT")]
    assert "kfk " in examples


def test_consume_page_documents_the_json_record_shape(generated):
    text = (generated / "kfk-consume.1").read_text()
    assert '"topic"' in text and '"timestamp_type"' in text and '"headers"' in text
    assert "_encoding" in text
