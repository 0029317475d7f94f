"""The package sets of scripts/install-deps: `make build` and `make run` install only what
building and running kfk need; `make test` (scripts/run-tests, so CI) installs everything."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts/install-deps"

# Only the tests use these; a developer who just builds and runs kfk should not get them.
TEST_ONLY = ["zookeeper", "burrow", "nodejs", "npm", "clang", "tmux", "zsh", "fish", "kcat",
             "python3-confluent-kafka", "clang-tidy"]


def packages(*args):
    r = subprocess.run([str(SCRIPT), "--list", *args], capture_output=True, text=True,
                       check=True)
    return r.stdout.split()


def test_build_set_has_only_what_building_needs():
    build = packages("build")
    assert {"cmake", "ninja-build", "g++", "libasio-dev", "libedit-dev"} <= set(build)
    for pkg in TEST_ONLY:
        assert pkg not in build


def test_all_is_build_and_test_and_the_default():
    everything = packages()
    assert everything == packages("all")
    assert set(everything) == set(packages("build")) | set(packages("test"))
    for pkg in TEST_ONLY:
        assert pkg in everything


def test_unknown_set_is_refused():
    r = subprocess.run([str(SCRIPT), "--list", "docs"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["build", "run", "debug"])
def test_make_build_and_run_install_the_build_set(target):
    r = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True,
                       check=True)
    calls = [line for line in r.stdout.splitlines() if "install-deps" in line]
    assert calls == ["scripts/install-deps build"]


def test_the_test_run_installs_everything():
    text = (REPO / "scripts/run-tests").read_text()
    assert "deps() { scripts/install-deps all; }" in text
    first_step = text[text.index("STEPS=("):].splitlines()[1].strip()
    assert first_step == '"dependencies:deps"'
