"""make arm64-check's own logic: the root's pip settings, its firmware config, the verdict, the refusals.
The check itself needs root, apt and the network (debootstrap): it is run by hand, not here (see the README)."""
import pytest
import yaml

from convert import arm64_check
from convert.arm64_check import firmware_config, verdict
from convert.arm64_root import missing_host_tools, parse_pip_config, root_pip_conf
from convert.package import ROOT
from edge.config import load_config

PIP_LIST = """global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple https://mirror.example/simple'
global.find-links='/opt/wheels'
global.index-url='https://old.example/simple'
:env:.index-url='https://proxy.example/pypi/simple'
:env:.default-timeout='180'
not a setting
"""


def test_pip_settings_are_read_with_the_environment_winning():
    settings = parse_pip_config(PIP_LIST)
    assert settings["index-url"] == "https://proxy.example/pypi/simple"
    assert settings["extra-index-url"] == "file:///opt/pypi/simple https://mirror.example/simple"
    assert settings["default-timeout"] == "180" and settings["find-links"] == "/opt/wheels"


def test_the_roots_pip_conf_keeps_what_it_can_reach():
    text, dropped = root_pip_conf(parse_pip_config(PIP_LIST), "/etc/ssl/certs/crackbot-host-ca.crt")
    assert text.splitlines() == [
        "[global]",
        "index-url = https://proxy.example/pypi/simple",
        "extra-index-url = https://mirror.example/simple",
        "timeout = 180",
        "cert = /etc/ssl/certs/crackbot-host-ca.crt",
        "disable-pip-version-check = true",
    ]
    assert dropped == ["file:///opt/pypi/simple", "/opt/wheels"]
    plain, nothing = root_pip_conf({}, None)
    assert plain == "[global]\ndisable-pip-version-check = true\n" and nothing == []


def test_the_folder_config_is_rpi4s_with_a_folder_camera_and_validates(tmp_path):
    base = yaml.safe_load((ROOT / "firmware_configs/rpi4.yaml").read_text())
    config = firmware_config(base, str(tmp_path), "arm64-check", str(ROOT / "models/crack_classifier"))
    assert config["camera"] == {"type": "folder", "path": str(tmp_path)} and config["pose"] == {"source": "none"}
    assert config["models"]["threads"] == base["models"]["threads"] and "outbox" not in config
    assert base["camera"]["type"] == "opencv"  # the base is left as it was
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    load_config(path)


def test_missing_tools_are_named_by_their_apt_package():
    assert missing_host_tools(lambda tool, path: None) == ["binfmt-support", "debootstrap", "qemu-user-static"]
    assert missing_host_tools(lambda tool, path: None if tool == "qemu-aarch64-static" else "/usr/bin/x") == [
        "qemu-user-static"]


def test_the_verdict_names_each_check():
    install = {"returncode": 0, "stdout": "installed crackbot 0.1.0 for x in /opt/crackbot", "machine": "aarch64"}
    run = {"frames": 8, "events_published": 5, "events_acked": 5}
    assert all(verdict(install, run, {"events_received": 5}, 8).values())
    failed = verdict({**install, "machine": "x86_64"}, {**run, "frames": 7}, {"events_received": 4}, 8)
    assert [k for k, ok in failed.items() if not ok] == ["aarch64", "frames_analysed", "events_received"]
    nothing = verdict({"returncode": 2, "stdout": ""}, None, None, 8)
    assert not any(nothing.values())


def test_without_root_it_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(arm64_check.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(arm64_check.sys, "platform", "linux")
    assert arm64_check.main([]) == 2
    assert capsys.readouterr().err == "error: the arm64 check needs root (debootstrap, mount, chroot): " \
                                      "sudo make arm64-check\n"


def test_frames_must_be_positive(monkeypatch, capsys):
    monkeypatch.setattr(arm64_check.os, "geteuid", lambda: 0)
    monkeypatch.setattr(arm64_check.sys, "platform", "linux")
    assert arm64_check.main(["--frames", "0"]) == 2
    assert "--frames must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        arm64_check.main(argv)
    assert exit_.value.code == 0 and "qemu-user" in capsys.readouterr().out
