"""A locked-down mosquitto setup: passwords, a per-robot ACL and TLS, written as files.

Each robot logs in with its robot id as user name and may only touch <topic_root>/<robot_id>/#;
the monitor user reads every robot and may send commands. With TLS, the listener presents a
certificate signed by a CA made here (openssl CLI) and, with client certificates on, requires
one signed by the same CA.

``python -m monitor.secure_broker --out DIR --robot rb-1 --robot rb-2 [--no-tls] [--host ADDR]`` writes
DIR/mosquitto.conf, passwords, acl, credentials.env (mode 0600) and, unless --no-tls, DIR/tls/*.pem.
Safe by default: it listens on 127.0.0.1 only, with TLS, and persists to DIR after every change.
:class:`SecureBroker` runs such a mosquitto as a child process (tests use it).
"""
from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edge.comms import topics
from monitor import MonitorError
from monitor.args import Parser
from monitor.broker import LocalBroker, find_mosquitto, free_port

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's own default for the $7$ (PBKDF2-SHA512) format
MONITOR_USER = "monitor"
_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")  # P-256: small, fast, widely supported


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A mosquitto 2 password file hash ($7$: PBKDF2-SHA512), as mosquitto_passwd writes it."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(topic_root: str = "crackbot", monitor_user: str = MONITOR_USER) -> str:
    """ACL: a robot (user name = robot id) owns its own subtree and nothing else."""
    return (
        "# robots: user name = robot id; read and write only under their own id\n"
        f"pattern readwrite {topic_root}/%u/#\n"
        "\n"
        "# the monitor reads every robot, may send commands and sends receipts\n"
        f"user {monitor_user}\n"
        f"topic read {topic_root}/#\n"
        f"topic write {topics.robot_topic(topic_root, '+', topics.command_set('+'))}\n"
        f"topic write {topics.robot_topic(topic_root, '+', topics.RECEIPTS)}\n"  # what the registry holds
    )


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise MonitorError("TLS files need the openssl command (apt install openssl)")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MonitorError(f"openssl {args[0]} failed: {proc.stderr.strip().splitlines()[-1:]}")


def make_ca(folder: Path, name: str = "crackbot-ca") -> tuple[Path, Path]:
    """A self-signed CA: (cert, key) PEM files in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _openssl("req", "-x509", *_KEY, "-nodes", "-days", "3650", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(cert), cwd=folder)
    key.chmod(0o600)
    return cert, key


def issue_cert(folder: Path, ca: tuple[Path, Path], common_name: str, hosts: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A certificate for common_name signed by ca: (cert, key). hosts become subjectAltNames (IPs or DNS names)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, csr = folder / f"{common_name}.pem", folder / f"{common_name}.key", folder / f"{common_name}.csr"
    _openssl("req", *_KEY, "-nodes", "-subj", f"/CN={common_name}", "-keyout", str(key),
             "-out", str(csr), cwd=folder)
    ext = folder / f"{common_name}.ext"
    alt = ",".join(("IP:" if h.replace(".", "").isdigit() or ":" in h else "DNS:") + h for h in hosts)
    ext.write_text(f"subjectAltName={alt}\n" if alt else "basicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
             "-days", "825", "-out", str(cert), "-extfile", str(ext), cwd=folder)
    csr.unlink()
    ext.unlink()
    key.chmod(0o600)
    return cert, key


@dataclass(frozen=True)
class SecuritySetup:
    """What a secured broker needs: users and passwords, and optionally TLS files."""

    passwords: dict = field(default_factory=dict)  # user name -> password
    topic_root: str = "crackbot"
    ca_cert: Path | None = None
    server_cert: Path | None = None
    server_key: Path | None = None
    require_client_cert: bool = False


def write_setup(folder: Path, robots: list[str], tls: bool = False, client_certs: bool = False,
                topic_root: str = "crackbot", host: str = "127.0.0.1") -> SecuritySetup:
    """Passwords (random), ACL and, with tls, a CA plus server and per-robot client certificates, in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    passwords = {user: secrets.token_urlsafe(18) for user in [*robots, MONITOR_USER]}
    creds = folder / "credentials.env"
    creds.write_text("".join(f"# {u}\nCRACKBOT_MQTT_USER={u}\nCRACKBOT_MQTT_PASSWORD={p}\n\n"
                             for u, p in passwords.items()))
    creds.chmod(0o600)
    setup = SecuritySetup(passwords=passwords, topic_root=topic_root)
    if tls:
        tls_dir = folder / "tls"
        ca = make_ca(tls_dir)
        server = issue_cert(tls_dir, ca, "broker", hosts=(host, "localhost"))
        if client_certs:
            for user in passwords:
                issue_cert(tls_dir, ca, user)
        setup = SecuritySetup(passwords=passwords, topic_root=topic_root, ca_cert=ca[0], server_cert=server[0],
                              server_key=server[1], require_client_cert=client_certs)
    return setup


def persistence_lines(folder: Path) -> list[str]:
    """mosquitto keeps queued QoS 1 messages and sessions on disk, saved after every change: with the
    stock autosave (every 30 min) a broker killed mid-run lost acknowledged events that were queued
    for an absent monitor."""
    return ["persistence true", f"persistence_location {folder}/", "autosave_on_changes true", "autosave_interval 1"]


def mosquitto_conf(folder: Path, setup: SecuritySetup, port: int, host: str = "127.0.0.1") -> Path:
    """Write passwords, acl and mosquitto.conf for one listener; returns the conf path."""
    (folder / "passwords").write_text("".join(f"{u}:{hash_password(p)}\n" for u, p in setup.passwords.items()))
    (folder / "passwords").chmod(0o600)
    (folder / "acl").write_text(acl_text(setup.topic_root))
    lines = [f"listener {port} {host}", "allow_anonymous false",
             f"password_file {folder / 'passwords'}", f"acl_file {folder / 'acl'}",
             *persistence_lines(folder), "log_dest stderr",
             # Started as root, mosquitto drops to user `mosquitto`, who cannot read our 0600 files: stay us.
             f"user {getpass.getuser()}"]
    if setup.ca_cert is not None:
        lines += [f"cafile {setup.ca_cert}", f"certfile {setup.server_cert}", f"keyfile {setup.server_key}",
                  f"require_certificate {'true' if setup.require_client_cert else 'false'}"]
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


class SecureBroker(LocalBroker):
    """mosquitto with passwords, the per-robot ACL and optional TLS, on 127.0.0.1:port."""

    def __init__(self, setup: SecuritySetup, port: int | None = None, host: str = "127.0.0.1"):
        if find_mosquitto() is None:
            raise MonitorError("a secured broker needs mosquitto (apt install mosquitto)")
        super().__init__("mosquitto", port if port is not None else free_port(host), host=host)
        self.setup = setup

    def _command(self):
        conf = mosquitto_conf(self._tmp, self.setup, self.port, self.host)
        return [find_mosquitto(), "-c", str(conf)], dict(os.environ)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m monitor.secure_broker",
               description="Write a secured mosquitto setup: random passwords, a per-robot ACL, "
                           "and optionally a CA with server and client certificates.")
    p.add_argument(
        "--out", required=True, type=Path, help="folder for mosquitto.conf, passwords, acl, credentials.env, tls/"
    )
    p.add_argument("--robot", action="append", default=[], metavar="ID", help="a robot id (repeat for each robot)")
    p.add_argument("--port", type=int, default=8883, help="listener port written into mosquitto.conf (default 8883)")
    p.add_argument("--host", default="127.0.0.1", help="listener address (default 127.0.0.1: this machine only; "
                   "0.0.0.0 for robots on the network, with TLS)")
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                   help="make a CA and a server certificate and listen with TLS (default; --no-tls: plain TCP, "
                        "passwords in clear text)")
    p.add_argument("--client-certs", action="store_true", help="with --tls: issue and require client certificates")
    p.add_argument("--topic-root", default="crackbot", help="topic root of the ACL (default crackbot)")
    args = p.parse_args(argv)
    args.out = args.out.resolve()  # mosquitto.conf names its files by absolute path
    try:
        if not args.robot:
            raise MonitorError("give at least one --robot ID")
        if args.client_certs and not args.tls:
            raise MonitorError("--client-certs needs --tls")
        setup = write_setup(args.out, args.robot, tls=args.tls, client_certs=args.client_certs,
                            topic_root=args.topic_root, host="127.0.0.1" if args.host == "0.0.0.0" else args.host)
        conf = mosquitto_conf(args.out, setup, args.port, args.host)
    except (MonitorError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.tls and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: {args.host} without TLS: passwords and events cross the network in clear text",
              file=sys.stderr)
    print(f"wrote {conf}; passwords in {args.out / 'credentials.env'} (keep it secret); "
          f"run: mosquitto -c {conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
