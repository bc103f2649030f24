"""A local MQTT broker for tests and the demo: mosquitto where installed, else an embedded amqtt broker.

Both kinds run as a child process, so a test can SIGKILL the broker to simulate a crash and
restart it on the same port. ``python -m monitor.broker --port N`` serves the embedded broker in the
foreground (that is also how :func:`start_broker` launches the embedded kind).
"""
from __future__ import annotations

import argparse
import atexit
import getpass
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor import MonitorError

log = logging.getLogger(__name__)

KINDS = ("auto", "mosquitto", "embedded")
# Debian/Ubuntu install mosquitto to /usr/sbin, which is not on a normal user's PATH.
_MOSQUITTO_PLACES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for place in _MOSQUITTO_PLACES:
        if os.path.isfile(place) and os.access(place, os.X_OK):
            return place
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_kind(kind: str) -> str:
    """Turn "auto" into the kind that will run; refuse mosquitto where it is not installed."""
    if kind not in KINDS:
        raise MonitorError(f"unknown broker kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "auto":
        return "mosquitto" if find_mosquitto() else "embedded"
    if kind == "mosquitto" and not find_mosquitto():
        raise MonitorError("mosquitto is not installed (apt install mosquitto); use kind 'embedded'")
    return kind


class LocalBroker:
    """A broker child process on 127.0.0.1:port. Use :func:`start_broker` to get a started one."""

    def __init__(self, kind: str, port: int, host: str = "127.0.0.1", start_timeout: float = 10.0,
                 persistent: bool = False, stock_autosave: bool = False):
        self.kind = resolve_kind(kind)
        self.stock_autosave = stock_autosave  # persistent with mosquitto's own autosave (every 1800 s, and at exit)
        if persistent and self.kind != "mosquitto":
            raise MonitorError("a persistent broker needs mosquitto (the embedded broker keeps no state on disk)")
        self.persistent = persistent
        self.host = host
        self.port = int(port)
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix=f"crackbot-broker-{self.port}-"))
        self._stderr_path = self._tmp / "broker.log"

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "LocalBroker":
        """Launch the child and wait until the port accepts connections."""
        if self.running:
            return self
        if port_open(self.host, self.port):  # else a stranger on the port would pass for our broker
            raise MonitorError(f"port {self.port} on {self.host} is already in use")
        cmd, env = self._command()
        log.debug("starting %s broker: %s", self.kind, " ".join(cmd))
        with open(self._stderr_path, "ab") as err:
            # Own session: a Ctrl-C meant for the caller does not take the broker down first.
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                          env=env, start_new_session=True)
        atexit.register(self._atexit)
        self._wait_ready()
        log.info("%s broker up on %s:%d (pid %d)", self.kind, self.host, self.port, self.pid)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it lingers; removes the temporary config and log."""
        self._terminate(timeout)
        atexit.unregister(self._atexit)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would: no clean disconnects, last wills fire on restart only."""
        if self.running:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()

    def restart(self) -> "LocalBroker":
        """Stop (if still running) and start again on the same port."""
        self._terminate(5.0)
        self._tmp.mkdir(parents=True, exist_ok=True)
        return self.start()

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalBroker(kind={self.kind!r}, host={self.host!r}, port={self.port}, pid={self.pid})"

    def stderr_tail(self, n_lines: int = 3) -> str:
        """The last lines of the broker's log on one line, for error messages."""
        try:
            text = self._stderr_path.read_bytes()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""
        return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-n_lines:])

    # -- internals -------------------------------------------------------------------------------
    def _command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.kind == "mosquitto":
            conf = self._tmp / "mosquitto.conf"
            # persistent: sessions and queued messages are saved after every change, so a broker killed
            # and restarted still knows a subscriber's persistent session (nothing published meanwhile is lost).
            autosave = "" if self.stock_autosave else "autosave_on_changes true\nautosave_interval 1\n"
            persistence = (f"persistence true\npersistence_location {self._tmp}/\n{autosave}"
                           # started as root it would drop to user mosquitto, who cannot write our folder
                           f"user {getpass.getuser()}\n") if self.persistent else "persistence false\n"
            conf.write_text(
                f"listener {self.port} {self.host}\n"
                "allow_anonymous true\n"
                f"{persistence}"
                "log_dest stderr\n"
            )
            return [find_mosquitto(), "-c", str(conf)], env
        # The child must import this package even when the caller's cwd is elsewhere.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        return [sys.executable, "-m", "monitor.broker", "--port", str(self.port), "--host", self.host], env

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise MonitorError(f"{self.kind} broker on port {self.port} exited with code "
                                   f"{self._proc.returncode}: {self.stderr_tail() or '(no output)'}")
            if port_open(self.host, self.port):
                if self._proc.poll() is None:  # not a stranger on the port while ours died
                    return
            time.sleep(0.05)
        self._terminate(2.0)
        raise MonitorError(f"{self.kind} broker did not accept connections on {self.host}:{self.port} "
                           f"within {self.start_timeout:g} s: {self.stderr_tail() or '(no output)'}")

    def _terminate(self, timeout: float) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def _atexit(self) -> None:
        # Never leave an orphan broker holding a port when the owner forgets stop().
        self._terminate(2.0)
        shutil.rmtree(self._tmp, ignore_errors=True)


def start_broker(port: int | None = None, kind: str = "auto", *, host: str = "127.0.0.1",
                 start_timeout: float = 10.0, persistent: bool = False, stock_autosave: bool = False) -> LocalBroker:
    """Start a broker on host:port (a free port when None) and return it once it accepts connections.

    kind: "mosquitto", "embedded" (amqtt) or "auto" (mosquitto where installed).
    persistent: mosquitto saves sessions to disk after every change (survives kill + restart); with
    stock_autosave, only as mosquitto does by default (every 1800 s and at a clean exit: a kill loses the rest).
    Raises MonitorError when it cannot start (with the broker's own error output).
    """
    broker = LocalBroker(kind, port if port is not None else free_port(host), host=host,
                         start_timeout=start_timeout, persistent=persistent, stock_autosave=stock_autosave)
    try:
        return broker.start()
    except BaseException:
        broker.stop()
        raise


# -- the embedded broker, served in this process ---------------------------------------------------
def amqtt_config(host: str, port: int) -> dict:
    """amqtt config: one TCP listener, anonymous clients, none of the $SYS or packet-logging plugins."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


def serve_embedded(host: str, port: int) -> None:
    """Serve an amqtt broker until SIGTERM or SIGINT."""
    import asyncio

    try:
        from amqtt.broker import Broker
        from amqtt.errors import BrokerError
    except ImportError as exc:  # only the embedded kind needs it
        raise MonitorError("the embedded broker needs amqtt: pip install 'amqtt>=0.11'") from exc

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        broker = Broker(amqtt_config(host, port))
        try:
            await broker.start()
        except BrokerError as exc:
            raise MonitorError(f"embedded broker cannot start on {host}:{port}: {exc}") from None
        log.info("embedded broker listening on %s:%d", host, port)
        await stop.wait()
        await broker.shutdown()

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    """``python -m monitor.broker``: run a local broker in the foreground until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m monitor.broker",
                                     description="Run a local MQTT broker for crackbot tests and demos.")
    parser.add_argument("--port", type=int, default=1883, help="TCP port (default 1883)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--kind", choices=KINDS, default="embedded",
                        help="embedded (amqtt, default), mosquitto, or auto (mosquitto where installed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections and messages")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        print(f"error: --port must be 1..65535, got {args.port}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        # amqtt logs every probe connection that sends no MQTT (our readiness check) as an ERROR.
        logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    try:
        kind = resolve_kind(args.kind)
        if kind == "embedded":
            if port_open(args.host, args.port):
                raise MonitorError(f"port {args.port} on {args.host} is already in use")
            serve_embedded(args.host, args.port)
            return 0
        with LocalBroker(kind, args.port, host=args.host) as broker:
            return _wait_for_signal(broker)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken or not allowed
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


def _wait_for_signal(broker: LocalBroker) -> int:
    """Block until SIGTERM/SIGINT (0) or until the broker child dies on its own (1)."""
    import threading

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        if not broker.running:
            print(f"error: {broker.kind} broker exited: {broker.stderr_tail()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
