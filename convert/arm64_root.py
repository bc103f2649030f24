"""The emulated arm64 Debian root of `make arm64-check` (convert.arm64_check): host tools, binfmt_misc,
debootstrap, the mounts while it runs, commands inside it and its pip configuration.

Every aarch64 program in the root runs through qemu-aarch64 (binfmt_misc), so it is slow: the root is
built once into a cache folder and kept.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

log = logging.getLogger(__name__)

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
ROOT_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
# command -> the apt package that brings it
HOST_TOOLS = {"debootstrap": "debootstrap", "qemu-aarch64-static": "qemu-user-static",
              "update-binfmts": "binfmt-support"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")
CLEAN_ENV = ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME=/root", "LANG=C.UTF-8"]


class CheckError(Exception):
    """A step that cannot go on; its message is the one line the user sees."""


def parse_pip_config(text: str) -> Dict[str, str]:
    """`pip config list` output (`global.index-url='...'`, `:env:.cert='...'`) -> {option: value}.
    Later lines win, as the environment (listed last) wins in pip."""
    settings: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or "." not in key:
            continue
        option = key.rsplit(".", 1)[1].strip()
        settings[option] = value.strip().strip("'\"")
    return settings


def _remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def root_pip_conf(settings: Dict[str, str], cert_in_root: Optional[str]) -> Tuple[str, List[str]]:
    """The root's /etc/pip.conf from this machine's pip settings: the same index, extra indexes and trusted
    hosts (local folders and file:// indexes are left out: the root cannot see them) and the same CA bundle
    (copied to cert_in_root). Returns (text, what was left out)."""
    lines, dropped = ["[global]"], []
    index = settings.get("index-url")
    if index:
        if _remote(index):
            lines.append(f"index-url = {index}")
        else:
            dropped.append(index)
    extras = settings.get("extra-index-url", "").split()
    kept = [url for url in extras if _remote(url)]
    dropped += [url for url in extras if not _remote(url)]
    if kept:
        lines.append("extra-index-url = " + " ".join(kept))
    dropped += settings.get("find-links", "").split()
    for option in ("trusted-host", "timeout", "default-timeout", "retries"):
        if settings.get(option):
            lines.append(f"{'timeout' if option == 'default-timeout' else option} = {settings[option]}")
    if cert_in_root:
        lines.append(f"cert = {cert_in_root}")
    lines.append("disable-pip-version-check = true")
    return "\n".join(lines) + "\n", dropped


def _sh(cmd: List[str], timeout: float = 1800, **kw) -> subprocess.CompletedProcess:
    log.info("$ %s", " ".join(cmd))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def tail(proc: subprocess.CompletedProcess, n: int = 6) -> str:
    return " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-n:])


def missing_host_tools(which=shutil.which) -> List[str]:
    """The apt packages of the tools this machine lacks."""
    return sorted({pkg for tool, pkg in HOST_TOOLS.items() if not which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin")})


def ensure_host_tools() -> None:
    missing = missing_host_tools()
    if not missing:
        return
    if not shutil.which("apt-get"):
        raise CheckError(f"install {' '.join(missing)} first (no apt-get here)")
    print(f"apt: {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *missing]  # waits for another apt
    proc = _sh(install, env=env)
    if proc.returncode != 0:  # stale lists on a fresh machine: update once and retry
        _sh(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"], env=env)
        proc = _sh(install, env=env)
    if proc.returncode != 0:
        raise CheckError(f"apt-get install {' '.join(missing)} failed: {tail(proc, 2)}")


def ensure_binfmt() -> None:
    """aarch64 ELF files run through qemu-aarch64 (binfmt_misc), so every process in the root runs emulated."""
    if not (BINFMT / "status").exists():
        _sh(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
    entry = BINFMT / "qemu-aarch64"
    if not entry.exists() or "enabled" not in entry.read_text():
        _sh(["update-binfmts", "--enable", "qemu-aarch64"])
    if not entry.exists() or "enabled" not in entry.read_text():
        raise CheckError(f"binfmt_misc has no enabled qemu-aarch64 entry ({entry}): aarch64 programs cannot run "
                         "here (in a container the host must register it: update-binfmts --enable qemu-aarch64)")


def build_root(root: Path, mirror: str) -> bool:
    """debootstrap an arm64 bookworm into root unless it is there; True when it was built now."""
    if (root / ".crackbot-root-ready").is_file():
        return False
    partial = root.with_name(root.name + ".partial")
    unmount_under(partial)
    shutil.rmtree(partial, ignore_errors=True)
    print(f"debootstrap: arm64 {SUITE} into {root} (emulated; several minutes)", flush=True)
    proc = _sh(["debootstrap", "--arch=arm64", "--variant=minbase", "--include=" + ",".join(ROOT_PACKAGES),
                SUITE, str(partial), mirror], timeout=3600)
    if proc.returncode != 0:
        logfile = partial / "debootstrap/debootstrap.log"
        detail = logfile.read_text().strip().splitlines()[-3:] if logfile.is_file() else []
        raise CheckError(f"debootstrap failed: {tail(proc, 3)} {' | '.join(detail)}")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    (root / ".crackbot-root-ready").write_text(f"{SUITE} arm64 from {mirror}\n")
    return True


def unmount_under(root: Path) -> None:
    prefix = str(root.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        if _sh(["umount", point]).returncode != 0:
            _sh(["umount", "-l", point])


@contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc inside the root while it runs (a fresh instance, not a bind of this machine's) and DNS from this
    machine. Not /sys: LiteRT's cpuinfo, built for ARM, reads this x86 machine's /proc/cpuinfo and (with
    /sys) its CPU lists, and then crashes (SIGSEGV in Interpreter(): qemu 7.2 does not emulate an ARM
    /proc/cpuinfo). With /proc alone it says `failed to parse both lists of possible and present processors`
    and goes on with its defaults."""
    unmount_under(root)
    try:
        (root / "proc").mkdir(exist_ok=True)
        proc = _sh(["mount", "-t", "proc", "proc", str(root / "proc")])
        if proc.returncode != 0:
            raise CheckError(f"cannot mount proc in {root}: {tail(proc, 1)}")
        if Path("/etc/resolv.conf").is_file():
            (root / "etc/resolv.conf").unlink(missing_ok=True)
            shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        yield
    finally:
        unmount_under(root)


def in_root(root: Path, args: List[str], timeout: float) -> subprocess.CompletedProcess:
    """A command inside the root with a clean environment (none of this machine's PIP_* or PATH)."""
    return _sh(["chroot", str(root), *CLEAN_ENV, *args], timeout=timeout)


def configure_pip(root: Path) -> List[str]:
    """The root's /etc/pip.conf from this machine's; returns the entries the root cannot use."""
    listing = _sh([sys.executable, "-m", "pip", "config", "list"]).stdout
    settings = parse_pip_config(listing)
    cert_in_root = None
    if settings.get("cert") and Path(settings["cert"]).is_file():
        cert_in_root = "/etc/ssl/certs/crackbot-host-ca.crt"
        shutil.copyfile(settings["cert"], root / cert_in_root.lstrip("/"))
    text, dropped = root_pip_conf(settings, cert_in_root)
    (root / "etc/pip.conf").write_text(text)
    return dropped
