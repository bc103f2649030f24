"""The one ``crackbot`` command, run as a process: its list, its errors, and the parts it hands over to."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARTS = ("edge", "monitor", "train", "convert")


def crackbot(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """python -m crackbot ARGS from the repository root; with code, that Python source instead."""
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "crackbot", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_help_lists_every_part_with_one_line():
    proc = crackbot("--help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for part in PARTS:
        rows = [line for line in lines if line.startswith(f"  {part} ")]  # tools are indented further
        assert len(rows) == 1, f"{part}: {rows}"
    assert "monitor report" in proc.stdout and "convert ccode" in proc.stdout


@pytest.mark.parametrize("args", [["nosuchpart"], ["--frobnicate"]])
def test_an_unknown_command_is_one_line_and_exit_2(args):
    proc = crackbot(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert f"unknown command {args[0]!r}" in proc.stderr and "edge, monitor, train, convert" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_no_command_prints_the_list_and_exits_2():
    proc = crackbot()
    assert proc.returncode == 2 and "commands:" in proc.stderr


@pytest.mark.parametrize("args, prog", [
    (["edge", "--help"], "python -m edge"),
    (["monitor", "--help"], "python -m monitor"),
    (["train", "--help"], "python -m train"),
    (["convert", "--help"], "python -m convert"),
    (["monitor", "report", "--help"], "python -m monitor.report"),
    (["convert", "ccode", "--help"], "python -m convert.ccode"),
])
def test_each_part_gets_its_arguments(args, prog):
    proc = crackbot(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {prog} ")


def test_a_part_s_usage_error_keeps_its_exit_code():
    proc = crackbot("monitor", "--port", "99999")
    assert proc.returncode == 2 and "port must be 1..65535" in proc.stderr


def test_edge_runs_without_importing_tensorflow():
    code = ("import sys\nfrom crackbot.cli import main\n"
            "rc = main(['edge', 'check-config', 'firmware_configs/desktop_sim.yaml'])\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)\n"
            "print('heavy:', heavy)\nsys.exit(rc)\n")
    proc = crackbot(code=code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "heavy: []"


def test_a_missing_optional_dependency_is_one_line_naming_the_extra():
    code = ("import sys\nsys.modules['cv2'] = None  # import cv2 fails as on a base install\n"
            "from crackbot.cli import main\n"
            "sys.exit(main(['edge', 'run', '--config', 'firmware_configs/desktop_sim.yaml', '--max-frames', '1']))\n")
    proc = crackbot(code=code)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    # edge's own CLI names what is missing: OpenCV, the extra that brings it, and the Jetson way
    assert err.startswith("error: needs the module 'cv2'") and "crackbot[device]" in err and "Jetson" in err


def test_the_python_m_forms_still_work():
    for part in ("edge", "monitor"):
        proc = subprocess.run([sys.executable, "-m", part, "--help"], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m {part} "), proc.stderr


def test_the_console_script_is_declared():
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(REPO / "setup.cfg")
    scripts = [line.strip() for line in cfg["options.entry_points"]["console_scripts"].splitlines() if line.strip()]
    assert "crackbot = crackbot.cli:main" in scripts
    assert "crackbot" in cfg["options.packages.find"]["include"].split()


def test_require_names_the_extra_before_any_work(monkeypatch):
    import importlib.util

    import pytest

    from edge.extras import MissingModule, require

    require("numpy")  # installed: nothing happens
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else find_spec(name, *a)
    )
    with pytest.raises(MissingModule, match=r"^needs the module 'matplotlib'.*crackbot\[train\]"):
        require("numpy", "matplotlib")
