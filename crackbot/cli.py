"""``crackbot COMMAND [ARGS ...]``: one command for every part, dispatching to the part's own main(argv).

    crackbot edge run --config FILE        is  python -m edge run --config FILE
    crackbot monitor --host H --port P     is  python -m monitor --host H --port P
    crackbot monitor report --db F ...     is  python -m monitor.report --db F ...
    crackbot convert ccode --model B ...   is  python -m convert.ccode --model B ...

A part is imported only when its command runs, so ``crackbot edge run`` on a device never imports
TensorFlow. When a part needs an optional dependency that is not installed, the command says in one
line which extra brings it, instead of a traceback.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from edge.extras import install_hint


@dataclass(frozen=True)
class Command:
    module: str   # the module whose main(argv) -> int runs the command
    summary: str  # its line in crackbot --help
    tools: Dict[str, "Command"] = field(default_factory=dict)  # crackbot PART TOOL ...


COMMANDS: Dict[str, Command] = {
    "edge": Command("edge.cli", "the device runtime: run, check-config, scan-check, photo-check"),
    "monitor": Command("monitor.cli", "subscribe to crack events: registry, crack map, exports, summary", {
        "report": Command("monitor.report", "HTML report, CSV, GeoJSON and crack maps from a registry file"),
        "command": Command("monitor.command", "send pause, resume or threshold to a robot"),
        "broker": Command("monitor.broker", "a local MQTT broker (mosquitto, else the embedded one)"),
        "secure-broker": Command("monitor.secure_broker", "write a locked-down mosquitto setup: passwords, ACL, TLS"),
        "demo": Command("monitor.demo", "a simulated robot, the shipped models, a broker and the subscriber"),
    }),
    "train": Command("train.cli", "train and evaluate crack classifiers and segmenters (extra: train)"),
    "convert": Command("convert.cli", "a trained Keras model to a validated int8 TFLite bundle (extra: train)", {
        "ccode": Command("convert.ccode.cli", "an int8 model as standalone C, built and checked against LiteRT"),
        "mcu": Command("convert.mcu", "TFLite Micro sources, checked against a microcontroller's budgets"),
        "package": Command("convert.package", "the install tarball for a device (a firmware config)"),
        "latency": Command("convert.latency", "LiteRT latency of a model at several thread counts"),
    }),
}

def usage() -> str:
    width = max(len(f"{name} {tool}") for name, cmd in COMMANDS.items() for tool in [*cmd.tools, ""]) + 4
    lines = ["usage: crackbot COMMAND [ARGS ...]", "",
             "Crack inspection for robots. Each command is one part of crackbot, with its own --help.", "",
             "commands:"]
    for name, cmd in COMMANDS.items():
        lines.append(f"  {name:<{width}}{cmd.summary}")
        lines += [f"    {name + ' ' + tool:<{width - 2}}{sub.summary}" for tool, sub in cmd.tools.items()]
    lines += ["", "options:", f"  {'-h, --help':<{width}}this list", f"  {'--version':<{width}}the installed version"]
    return "\n".join(lines)


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed

    try:
        return installed("crackbot")
    except PackageNotFoundError:
        return "(not installed)"


def run(command: Command, argv: Sequence[str], label: str) -> int:
    """Import the command's module and run its main(argv); a missing optional dependency is one line, exit 2."""
    try:
        return importlib.import_module(command.module).main(list(argv))
    except ModuleNotFoundError as exc:
        hint = install_hint(exc.name or "")
        if hint is None:
            raise
        print(f"{label}: error: {hint}", file=sys.stderr)
        return 2


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(f"crackbot {version()}")
        return 0
    name, rest = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"crackbot: error: unknown command {name!r} (choose from {', '.join(COMMANDS)}; see crackbot --help)",
              file=sys.stderr)
        return 2
    label = f"crackbot {name}"
    if rest and rest[0] in command.tools:
        label, command, rest = f"{label} {rest[0]}", command.tools[rest[0]], rest[1:]
    return run(command, rest, label)
