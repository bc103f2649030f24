"""`make bundle TARGET=<firmware config>`: one tarball with everything a device needs.

`python -m convert.package --target rpi4` writes dist/crackbot-rpi4-<version>.tar.gz holding
- src/: the edge package only (edge/ + a setup.cfg and pyproject.toml made for it): no train/,
  convert/ or TensorFlow on the device;
- requirements.txt (LiteRT) and requirements-legacy.txt (tflite-runtime, for numpy<2 systems),
  taken from the repository's setup.cfg extras;
- config/<target>.yaml, the firmware config, and models/<name>/ for every bundle it names
  (sha256 checked while packing);
- install.sh and crackbot.service (from firmware_configs/), INSTALL.md and SHA256SUMS.
An MCU target (`kind: mcu`) gets the TFLite Micro sources from convert.mcu instead.
"""
from __future__ import annotations

import argparse
import configparser
import hashlib
import io
import logging
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from edge.models.bundle import load_bundle
from edge.errors import ConfigError, CrackbotError, ModelError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_FILES = ("model.tflite", "model.json", "MODEL_CARD.md", "report.json")


@dataclass(frozen=True)
class SystemNeeds:
    """What a target needs from its OS besides pip: apt packages and a venv that can see them."""

    apt: Tuple[str, ...] = ()
    system_site_packages: bool = False
    note: str = ""


# Target name prefix -> system needs. Camera stacks on these boards are built against the system
# Python and come from apt; the venv sees them through --system-site-packages.
SYSTEM_NEEDS: Dict[str, SystemNeeds] = {
    "rpi": SystemNeeds(("python3-picamera2",), True,
                       "picamera2 (CSI cameras) comes from Raspberry Pi OS's apt, not pip."),
    "jetson": SystemNeeds(("python3-opencv",), True,
                          "OpenCV must be JetPack's build with GStreamer (apt python3-opencv), not pip's."),
}


def system_needs(target: str) -> SystemNeeds:
    for prefix, needs in SYSTEM_NEEDS.items():
        if target.startswith(prefix):
            return needs
    return SystemNeeds()


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg")
    return parser


def version() -> str:
    return _setup_cfg()["metadata"]["version"]


def _lines(value: str) -> List[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def device_setup_cfg(cfg: configparser.ConfigParser) -> str:
    """setup.cfg of the device package: edge only, the repository's runtime dependencies."""
    meta = cfg["metadata"]
    requires = "\n".join(f"    {r}" for r in _lines(cfg["options"]["install_requires"]))
    extras = cfg["options.extras_require"]
    extra_lines = []
    for name in ("device", "legacy-runtime"):
        if name in extras:
            extra_lines.append(f"{name} =\n" + "\n".join(f"    {r}" for r in _lines(extras[name])))
    return (
        "[metadata]\n"
        f"name = crackbot-edge\nversion = {meta['version']}\n"
        f"description = crackbot device runtime (edge only): {meta.get('description', '')}\n"
        f"license = {meta.get('license', '')}\n\n"
        "[options]\n"
        f"python_requires = {cfg['options'].get('python_requires', '>=3.9')}\n"
        "packages = find:\ninclude_package_data = True\n"
        f"install_requires =\n{requires}\n\n"
        "[options.packages.find]\ninclude =\n    edge\n    edge.*\n\n"
        "[options.package_data]\nedge.comms.schemas = *.json\n\n"
        "[options.extras_require]\n" + "\n".join(extra_lines) + "\n\n"
        "[options.entry_points]\nconsole_scripts =\n    crackbot-edge = edge.cli:main\n"
    )


def requirements(cfg: configparser.ConfigParser, target: str = "") -> Dict[str, str]:
    """requirements.txt and requirements-legacy.txt from the target's extra (rpi, jetson, else device). Where
    the OS brings OpenCV (a Jetson: JetPack's, with GStreamer), pip's is left out: it would shadow it."""
    extras = cfg["options.extras_require"]
    extra = next((name for name in ("rpi", "jetson") if target.startswith(name) and name in extras), "device")
    device = _lines(extras[extra])
    legacy = _lines(extras.get("legacy-runtime", "tflite-runtime"))
    if "python3-opencv" in system_needs(target).apt:
        legacy = [line for line in legacy if not line.startswith("opencv")]
    return {
        "requirements.txt": "# LiteRT runs the int8 models (numpy>=2 systems)\n" + "\n".join(device) + "\n",
        "requirements-legacy.txt": "# numpy<2 systems: tflite-runtime instead of LiteRT (install.sh --legacy-runtime)\n"
        + "\n".join(legacy) + "\n",
    }


def resolve_target(target: str) -> Path:
    """A firmware config name (rpi4, mcu/esp32s3) or a path to one."""
    path = Path(target)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = ROOT / "firmware_configs" / f"{target}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(str(p.relative_to(ROOT / "firmware_configs").with_suffix(""))
                   for p in (ROOT / "firmware_configs").rglob("*.yaml"))
    raise ConfigError(f"no firmware config {target!r} (known: {', '.join(known)})")


def _bundle_folder(value: str, config_folder: Path) -> Optional[Path]:
    """The repository bundle a config path names: relative to the config file, else models/<basename>
    (device paths such as /opt/crackbot/models/NAME name the installed copy of the repository's bundle)."""
    for candidate in (config_folder / value, ROOT / "models" / Path(value).name):
        if (candidate / "model.json").is_file():
            return candidate
    return None


def model_bundles(raw: dict, config_path: Path) -> Dict[str, Path]:
    """config key (models.classifier, ...) -> bundle folder, for every model the config names."""
    found: Dict[str, Path] = {}
    for key, value in (raw.get("models") or {}).items():
        if not isinstance(value, str):
            continue
        folder = _bundle_folder(value, config_path.parent)
        if folder is None and "/" not in value:
            continue  # a setting such as `segment: crack_tiles`, not a path
        if folder is None:
            raise ModelError(f"{config_path}: models.{key}: no model bundle at {value} (nor models/{Path(value).name})")
        found[f"models.{key}"] = folder
    if not found:
        raise ConfigError(f"{config_path}: names no model bundle under models:")
    return found


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0  # fixed mtime: same inputs, same archive content
    tar.addfile(info, io.BytesIO(data))


# Desktop tools that a robot never runs: the simulator, the photo check, inspect and its report.
DESKTOP_ONLY = ("edge/sim", "edge/photocheck", "edge/inspect", "edge/report")


def _edge_files() -> List[Path]:
    return sorted(p for p in (ROOT / "edge").rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo")
                  and not any(p.relative_to(ROOT).as_posix().startswith(d + "/") for d in DESKTOP_ONLY))


def _install_md(target: str, ver: str, needs: SystemNeeds, models: Dict[str, Path], mcu: bool = False) -> str:
    if mcu:
        return (f"# crackbot {ver} for {target} (microcontroller)\n\n"
                "`mcu/` holds the TFLite Micro sources: add model_data.cc, model_data.h and model_ops.h to the\n"
                "firmware project, register the ops with `RegisterModelOps(resolver)` and allocate\n"
                "`kTensorArenaSize` bytes. `mcu/mcu_report.json` has the flash and RAM check against the budgets\n"
                f"in `config/{target}.yaml`.\n")
    lines = [
        f"# crackbot {ver} for {target}", "",
        "```sh", f"tar xzf crackbot-{target}-{ver}.tar.gz && cd crackbot-{target}-{ver}",
        "sudo ./install.sh                 # /opt/crackbot, systemd unit enabled", "```", "",
        "No TensorFlow is installed: LiteRT runs the models (`./install.sh --legacy-runtime` uses",
        "tflite-runtime on systems that must keep numpy<2).",
    ]
    if needs.apt:
        lines += ["", f"{needs.note} install.sh installs `{' '.join(needs.apt)}` with apt when run as root and",
                  "makes the venv with `--system-site-packages` so it sees them."]
    lines += ["", "Models: " + ", ".join(f"`{k}` = models/{p.name}" for k, p in models.items()) + ".",
              "Broker host and credentials go in /etc/default/crackbot (e.g. `CRACKBOT_MQTT_HOST=192.0.2.10`).", ""]
    return "\n".join(lines)


def build_package(target: str, out_dir="dist", mcu_method: str = "auto") -> Path:
    """Write dist/crackbot-<target>-<version>.tar.gz; returns its path."""
    config_path = resolve_target(target)
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{config_path}: not valid YAML") from None
    cfg = _setup_cfg()
    ver = cfg["metadata"]["version"]
    is_mcu = isinstance(raw, dict) and raw.get("kind") == "mcu"
    name = str(raw.get("target", config_path.stem)) if is_mcu else config_path.stem
    top = f"crackbot-{name}-{ver}"
    files: Dict[str, Tuple[bytes, int]] = {}

    if is_mcu:
        from .mcu import build_mcu, load_target

        mcu_target = load_target(config_path)
        models = {"model": ROOT / mcu_target.model}
        with tempfile.TemporaryDirectory() as tmp:
            build_mcu(config_path, tmp, root=ROOT, method=mcu_method)  # refuses a model that does not fit
            for path in sorted(Path(tmp).iterdir()):
                files[f"mcu/{path.name}"] = (path.read_bytes(), 0o644)
        needs = SystemNeeds()
    else:
        from edge.config import load_config

        try:
            load_config(config_path)
        except ConfigError as exc:
            if "environment variable" not in str(exc):  # set on the device, not needed to pack
                raise
        models = model_bundles(raw, config_path)
        needs = system_needs(name)
        for path in _edge_files():
            files[f"src/{path.relative_to(ROOT).as_posix()}"] = (path.read_bytes(), 0o644)
        files["src/setup.cfg"] = (device_setup_cfg(cfg).encode(), 0o644)
        files["src/pyproject.toml"] = ((ROOT / "pyproject.toml").read_bytes(), 0o644)
        for fname, text in requirements(cfg, name).items():
            files[fname] = (text.encode(), 0o644)
        model_sets = " ".join(f"{key}={folder.name}" for key, folder in models.items())
        script = (ROOT / "firmware_configs" / "install.sh").read_text()
        for placeholder, value in (
            ("@TARGET@", name),
            ("@VERSION@", ver),
            ("@APT_PACKAGES@", " ".join(needs.apt)),
            ("@MODEL_SETS@", model_sets),
            ("@SYSTEM_SITE@", "1" if needs.system_site_packages else "0"),
        ):
            script = script.replace(placeholder, value)
        files["install.sh"] = (script.encode(), 0o755)
        files["crackbot.service"] = ((ROOT / "firmware_configs" / "crackbot.service").read_bytes(), 0o644)

    files[f"config/{name}.yaml"] = (config_path.read_bytes(), 0o644)
    for folder in models.values():
        load_bundle(folder)  # sha256 checked before anything is packed
        for fname in BUNDLE_FILES:
            if (folder / fname).is_file():
                files[f"models/{folder.name}/{fname}"] = ((folder / fname).read_bytes(), 0o644)
    files["INSTALL.md"] = (_install_md(name, ver, needs, models, is_mcu).encode(), 0o644)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {fname}\n" for fname, (data, _) in sorted(files.items()))
    files["SHA256SUMS"] = (sums.encode(), 0o644)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{top}.tar.gz"
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for fname, (data, mode) in sorted(files.items()):
            _add(tar, f"{top}/{fname}", data, mode)
    partial.replace(archive)  # never leave a half-written tarball under the final name
    log.info("wrote %s (%d files)", archive, len(files))
    return archive


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convert.package",
        description="Pack the edge package, device requirements, a firmware config, its model bundles, "
        "install.sh and the systemd unit into dist/crackbot-<target>-<version>.tar.gz "
        "(an MCU config gets its TFLite Micro sources instead).",
    )
    parser.add_argument("--target", required=True, help="firmware config name (rpi4, desktop_sim, mcu/esp32s3) or path")
    parser.add_argument("--out", default="dist", metavar="DIR", help="output folder (default dist)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        archive = build_package(args.target, args.out)
    except CrackbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    models = sorted({n.split("/")[2] for n in names if n.split("/")[1:2] == ["models"] and n.count("/") >= 3})
    print(f"wrote {archive} ({archive.stat().st_size / 1024:.0f} KB, {len(names)} files; models: {', '.join(models)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
