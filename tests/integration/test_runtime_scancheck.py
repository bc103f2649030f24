"""`python -m edge scan-check --oracle` as a user runs it: on a small synthetic wall the exact masks go
through stitching, measurement and tracking, and every crack wider than 1 mm meets the tolerances."""
import json
import subprocess
import sys

from tests.integration.helpers import ROOT, write_sim_config


def test_scan_check_oracle_meets_the_tolerances(tmp_path, shipped_bundle):
    config = write_sim_config(tmp_path, port=1, bundle=shipped_bundle, robot_id="check-bot", width=2400, height=1400,
                              cracks=3, seed=5)
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, "-m", "edge", "scan-check", "--config", str(config), "--oracle",
                           "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["known"] == 3 and result["known_wider_than_1mm"] >= 1
    assert result["found_wider_than_1mm"] == result["known_wider_than_1mm"]
    assert result["passed_wider_than_1mm"] == result["known_wider_than_1mm"] and result["one_id_each"]
    assert result["reports_on_no_known_crack"] == []
    assert "within every tolerance" in proc.stdout


def test_scan_check_needs_the_simulator(tmp_path):
    config = tmp_path / "usb.yaml"
    config.write_text("robot_id: r1\ncamera: {type: opencv, source: '0'}\n")
    proc = subprocess.run([sys.executable, "-m", "edge", "scan-check", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: scan-check needs camera.type sim, not opencv"


def test_scan_check_refuses_a_bad_seed_list(tmp_path, shipped_bundle):
    config = write_sim_config(tmp_path, port=1, bundle=shipped_bundle, robot_id="check-bot", width=2400, height=1400,
                              cracks=3, seed=5)
    proc = subprocess.run([sys.executable, "-m", "edge", "scan-check", "--config", str(config), "--seeds", "1-x"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --seeds takes numbers and ranges like 1-7 or 1,4,9, got '1-x'"
