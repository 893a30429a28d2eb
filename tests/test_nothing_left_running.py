"""A test run leaves no process running: the check at its end (conftest.py) fails the run over
any it finds, and kills them."""

import os

from tests.helpers import ROOT, kill_all, processes

LEAKS = """
import subprocess


def test_a_child_left_running():
    subprocess.Popen(["sleep", "{child}"])


def test_an_orphan_with_a_file_in_the_run_folder(tmp_path):
    # As an nginx worker whose master was killed: parent 1, its log in a test's folder.
    with open(tmp_path / "log", "wb") as log:
        subprocess.run(["setsid", "-f", "sleep", "{orphan}"], stdout=log, check=True)
"""


def test_a_run_that_leaves_processes_running_fails_and_kills_them(pytester, monkeypatch):
    # Numbers no other run on the machine uses, to tell these sleeps from any other.
    child, orphan = f"{os.getpid()}1", f"{os.getpid()}2"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest("from tests.conftest import nothing_left_running  # noqa: F401")
    pytester.makepyfile(LEAKS.format(child=child, orphan=orphan))

    result = pytester.runpytest_subprocess()

    # The orphan may still be setsid, about to become sleep, when the check finds it.
    ours = (f" sleep {child}", f" sleep {orphan}")
    still = kill_all([p for p in processes() if f" {p.command}".endswith(ours)])
    result.assert_outcomes(passed=2, errors=1)
    report = result.stdout.str()
    assert "left running by the tests:" in report
    assert all(f"{command}\n" in report for command in ours)
    assert still == []
