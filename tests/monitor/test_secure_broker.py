"""The secured mosquitto setup as files: password hashes, the per-robot ACL, the CLI."""
from __future__ import annotations

import base64
import hashlib
import shutil
import stat

import pytest

from monitor.secure_broker import PBKDF2_ITERATIONS, acl_text, hash_password, main


def test_password_hash_is_mosquittos_pbkdf2_sha512_format():
    salt = bytes(range(12))
    line = hash_password("s3cret", salt=salt)
    _, kind, iterations, salt_b64, digest_b64 = line.split("$")
    assert (kind, int(iterations)) == ("7", PBKDF2_ITERATIONS)
    assert base64.b64decode(salt_b64) == salt
    assert base64.b64decode(digest_b64) == hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, PBKDF2_ITERATIONS)
    assert hash_password("s3cret") != hash_password("s3cret")  # a fresh salt each time


def test_acl_gives_each_robot_its_own_subtree_only():
    acl = acl_text("site/crackbot")
    assert "pattern readwrite site/crackbot/%u/#" in acl
    assert "topic read site/crackbot/#" in acl and "topic write site/crackbot/+/cmd/+/set" in acl
    assert "topic readwrite site/crackbot/#" not in acl


def test_cli_writes_the_setup(tmp_path, capsys):
    out = tmp_path / "broker"
    assert main(["--out", str(out), "--robot", "rb-1", "--robot", "rb-2", "--port", "8884", "--no-tls"]) == 0
    conf = (out / "mosquitto.conf").read_text()
    assert "listener 8884" in conf and "allow_anonymous false" in conf and f"acl_file {out / 'acl'}" in conf
    users = [line.split(":", 1)[0] for line in (out / "passwords").read_text().splitlines()]
    assert users == ["rb-1", "rb-2", "monitor"]
    for secret in ("passwords", "credentials.env"):
        assert stat.S_IMODE((out / secret).stat().st_mode) == 0o600
    assert (out / "credentials.env").read_text().count("CRACKBOT_MQTT_PASSWORD=") == 3


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_cli_with_tls_makes_a_ca_and_certificates(tmp_path):
    out = tmp_path / "broker"
    assert main(["--out", str(out), "--robot", "rb-1", "--tls", "--client-certs"]) == 0
    conf = (out / "mosquitto.conf").read_text()
    assert "require_certificate true" in conf and f"cafile {out / 'tls' / 'crackbot-ca.pem'}" in conf
    assert {p.name for p in (out / "tls").glob("*.pem")} >= {"crackbot-ca.pem", "broker.pem", "rb-1.pem", "monitor.pem"}


@pytest.mark.parametrize("args, message", [
    ([], "give at least one --robot"),
    (["--robot", "rb-1", "--client-certs", "--no-tls"], "--client-certs needs --tls"),
])
def test_cli_errors(tmp_path, capsys, args, message):
    assert main(["--out", str(tmp_path / "b"), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_cli_defaults_are_safe(tmp_path):
    out = tmp_path / "broker"
    assert main(["--out", str(out), "--robot", "rb-1"]) == 0
    conf = (out / "mosquitto.conf").read_text().splitlines()
    assert "listener 8883 127.0.0.1" in conf  # this machine only unless told otherwise
    assert any(line.startswith("cafile ") for line in conf)  # TLS on
    assert {"persistence true", "autosave_on_changes true", "autosave_interval 1"} <= set(conf)
    assert f"persistence_location {out}/" in conf


def test_cli_warns_about_clear_text_on_the_network(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "b"), "--robot", "rb-1", "--no-tls", "--host", "0.0.0.0"]) == 0
    assert "clear text" in capsys.readouterr().err

