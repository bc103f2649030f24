"""Where a bundle came from: each data set's origin, license and citation (its SOURCE.md and the
data root's README table), and the training run's facts that model.json records under `training`."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional


def find_source_md(path: str) -> Optional[Path]:
    """SOURCE.md of a data folder: in the folder or up to two levels above (e.g. deepcrack/train)."""
    if not path:
        return None
    folder = Path(path)
    for candidate in (folder, folder.parent, folder.parent.parent):
        if (candidate / "SOURCE.md").is_file():
            return candidate / "SOURCE.md"
    return None


def _readme_terms(folder: Path) -> str:
    """The 'license / terms' cell for `folder` in the data root's README.md table, if any."""
    for root in (folder.parent, folder.parent.parent):
        readme = root / "README.md"
        if not readme.is_file():
            continue
        rel = folder.relative_to(root).as_posix()
        for line in readme.read_text(errors="replace").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[0].strip("`").split("/{")[0].rstrip("/") in (rel, rel.split("/")[0]):
                return cells[-1]
    return ""


def license_line(path: str) -> str:
    """A data folder's license or terms: its row in the data README's table, else the first
    SOURCE.md line that starts with 'License' ('' when neither says)."""
    if not path:
        return ""
    terms = _readme_terms(Path(path))
    if terms:
        return terms
    md = find_source_md(path)
    if md is None:
        return ""
    for line in md.read_text(errors="replace").splitlines():
        text = line.strip().lstrip("-* ").strip()
        if text.lower().startswith("license"):
            return text
    return ""


# Items of a SOURCE.md about how the extract was collected, and hedges on remembered facts.
_COLLECTION_NOTES = re.compile(r"^- (Where it was taken|Snapshot|Source paths|Provenance|Source repo)", re.I)
_HEDGES = re.compile(
    r"\s*\((?:Mendeley lists it as [^)]*|[^)]*from memory[^)]*)\)|,? ?to my knowledge,?"
    r"|\s*[—-]+ author/venue from memory, not verified here",
    re.I,
)


def source_summary(path: str) -> str:
    """The head of a SOURCE.md (title, origin, license, citation): everything before its first
    '## ' section, with the title as a bold line."""
    md = find_source_md(path)
    if md is None:
        return "No SOURCE.md found for this folder: origin, license and citation unknown."
    lines: List[str] = []
    skipping = False
    for line in md.read_text(errors="replace").splitlines():
        if line.startswith("## "):
            break
        if line.startswith("# "):
            line = f"**{line[2:].strip()}**"
        if line.startswith("- "):  # a top-level item: keep what a model user needs, not how it was collected
            skipping = bool(_COLLECTION_NOTES.search(line))
        elif not line.startswith(" "):
            skipping = False
        if not skipping:
            lines.append(_HEDGES.sub("", line))
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + f"\n\n(from `{md}`)"


def data_entries(sources: Dict[str, Dict[str, Any]], data_info: Dict[str, Any]) -> List[Dict[str, Any]]:
    """model.json training.data: one entry per source with its path, convention, terms, and its
    training and validation balance from the run's metrics.json `data`."""
    return [
        {
            "name": name,
            "path": src.get("path", ""),
            "convention": src.get("convention", ""),
            "license": "generated in this repository" if src.get("convention") == "synthetic"
            else license_line(src.get("path", "")),
            "train": data_info.get("train", {}).get(name),
            "val": data_info.get("val", {}).get(name),
            **({"about": src["about"]} if src.get("about") else {}),
        }
        for name, src in sources.items()
    ]


def training_record(run_dir, run_metrics: Dict[str, Any], val_info: Dict[str, Any], params: int,
                    validation_split: Dict[str, Any], extra: Dict[str, Any], config: Dict[str, Any],
                    train_command: Optional[str]) -> Dict[str, Any]:
    """model.json `training`: the run, its data sets (with their terms), the split, the run's length,
    the parameter count, `extra` (task facts such as the calibration size), the resolved config and
    the command that trained it."""
    data_info = run_metrics.get("data", {})
    sources = dict(data_info.get("sources", {}))
    sources.update({k: v for k, v in val_info.items() if k not in sources})
    info: Dict[str, Any] = {
        "run": Path(run_dir).name,
        "data": data_entries(sources, data_info),
        "validation_split": validation_split,
        **{k: run_metrics.get(k) for k in ("epochs_run", "best_epoch", "train_seconds")},
        "params": int(params),
        **extra,
        "config": config,
    }
    if train_command or run_metrics.get("command"):
        info["command"] = train_command or run_metrics.get("command")
    return info
