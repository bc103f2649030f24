"""`python -m edge photo-check`: the robot's own code path over folders of real photos, scored photo by
photo against their masks (see edge/photocheck/__init__.py)."""
from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from edge.frame.cascade import cracks_from_mask
from edge.config import EdgeConfig, FolderCameraConfig
from edge.config.photos import for_photos
from edge.comms.events import final_reports
from edge.photocheck.photos import PhotoSet, find_sets, photo_files, read_mask, readable
from edge.photocheck.reference import measure_mask
from edge.photocheck.score import Figures, figures, score_photo, summarize

log = logging.getLogger(__name__)


def photo_config(cfg: EdgeConfig, folder: Path) -> EdgeConfig:
    """The robot's config with its camera swapped for a folder of photos: no pose (every photo is a
    scene of its own), 1 mm per pixel (so every figure is in pixels), no evidence crops, no frame dropped."""
    return for_photos(cfg).model_copy(update={"camera": FolderCameraConfig(type="folder", path=str(folder), fps=10.0)})


def _report_dicts(reports: Sequence[dict]) -> List[dict]:
    """Reported cracks as score.figures takes them (mm are px at the check's 1 mm per pixel)."""
    return [{"length": r["length_mm"], "width_max": r["width_max_mm"], "width_mean": r["width_mean_mm"],
             "width_p95": r["width_p95_mm"], "bbox_px": r["frame"]["bbox_px"]}
            for r in reports if r.get("length_mm") is not None]


def run_models(cfg: EdgeConfig, folder: Path, limit: Optional[int]) -> dict:
    """The robot over the folder: frames analysed and blurred, `reports` (frame index -> the final
    report of each crack published on that frame), crack_ids and those on several photos."""
    from edge.loop.compose import compose
    from edge.loop.runner import run_robot
    from edge.sim.sink import MemorySink

    events: List[dict] = []
    summary = run_robot(compose(photo_config(cfg, folder), sink=MemorySink(events.append)), max_frames=limit)
    by_frame: Dict[int, List[dict]] = {}
    frames_of: Dict[str, set] = {}  # crack_id -> the photos its events came from
    for event in events:
        frames_of.setdefault(event["crack_id"], set()).add(event["frame"]["index"])
    for report in final_reports(events).values():
        by_frame.setdefault(report["frame"]["index"], []).append(report)
    if summary["frames_blurred"]:
        log.warning("%s: %d photos were flagged as blurred and not analysed (blur.min_laplacian_var)",
                    folder, summary["frames_blurred"])
    return {"frames": summary["frames"], "frames_blurred": summary["frames_blurred"], "reports": by_frame,
            "crack_ids": len(frames_of), "crack_ids_on_several_photos": sum(len(f) > 1 for f in frames_of.values())}


def exact_cracks(cfg: EdgeConfig, mask: np.ndarray) -> List[dict]:
    """The true mask through the runtime's own measurement, as a frame without a pose at 1 mm/px: the
    cascade's pieces joined into cracks and measured, the tracker's shortest crack. The blob filters
    (measure.min_elongation) are left out: they judge what a segmenter marked, not how a crack is
    measured, and the models run keeps them."""
    cracks = cracks_from_mask(mask, np.zeros(0), [], 0.5, 1.0, cfg.measure.min_area_px,
                              join_gap_px=cfg.tracking.merge_distance_mm, width_window_px=cfg.measure.width_window_px)
    return [{"length": c.length_mm, "width_max": c.width_max_mm, "width_mean": c.width_mean_mm,
             "width_p95": c.width_p95_mm, "bbox_px": list(c.bbox_px)}
            for c in cracks if c.length_mm is not None and c.length_mm >= cfg.measure.min_length_mm]


def _truth(mask: np.ndarray) -> Optional[Figures]:
    return figures([{"length": c.length_px, "width_max": c.width_max_px, "width_mean": c.width_mean_px,
                     "width_p95": c.width_p95_px} for c in measure_mask(mask)])


def check_masks(cfg: EdgeConfig, ps: PhotoSet, models: bool, limit: Optional[int]) -> dict:
    """A set of photos with masks: every photo scored with the exact mask and (models) with the robot's."""
    # the folder camera's frame indices: the photos it can read, in name order, up to the limit
    files = list(itertools.islice((p for p in photo_files(ps.folder) if readable(p) is not None), limit))
    robot = run_models(cfg, ps.folder, limit) if models else None
    rows: Dict[str, List[dict]] = {"exact": [], "models": []}
    for index, path in enumerate(files):
        mask_path = ps.masks.get(path.stem)
        mask = read_mask(mask_path) if mask_path is not None else None
        if mask is None:
            log.warning("%s: no readable mask for %s; left out", ps.name, path.name)
            continue
        truth = _truth(mask)
        exact = exact_cracks(cfg, mask)
        rows["exact"].append(
            {"photo": path.name, "mask": str(mask_path), **score_photo(truth, figures(exact), "exact"), "cracks": exact}
        )
        if robot is not None:
            reported = _report_dicts(robot["reports"].get(index, []))
            rows["models"].append(
                {
                    "photo": path.name,
                    "mask": str(mask_path),
                    **score_photo(truth, figures(reported), "models"),
                    "cracks": reported,
                }
            )
    result = {"set": ps.name, "kind": ps.kind, "folder": str(ps.folder),
              "exact": {"summary": summarize(rows["exact"]), "photos": rows["exact"]}}
    if robot is not None:
        result["models"] = {"summary": {**summarize(rows["models"]), **_ids(robot)}, "photos": rows["models"],
                            "frames_blurred": robot["frames_blurred"]}
    return result


def _ids(robot: dict) -> dict:
    return {"crack_ids": robot["crack_ids"], "crack_ids_on_several_photos": robot["crack_ids_on_several_photos"]}


def check_patches(cfg: EdgeConfig, ps: PhotoSet, limit: Optional[int]) -> dict:
    """Patches without masks: the share with a report (false alarms on Negative/, found on Positive/)."""
    robot = run_models(cfg, ps.folder, limit)
    n = robot["frames"]
    hit = sum(1 for index in range(n) if robot["reports"].get(index))
    key = "false_alarms" if ps.kind == "negative" else "found"
    return {"set": ps.name, "kind": ps.kind, "folder": str(ps.folder),
            "models": {"summary": {"photos": n, key: hit, f"{key}_pct": round(100.0 * hit / n, 2) if n else None,
                                   "frames_blurred": robot["frames_blurred"], **_ids(robot)}}}


def photo_check(cfg: EdgeConfig, data: Sequence, models: bool = True, limit: Optional[int] = None) -> dict:
    """Every set in every data folder; patch folders need the models (they have no masks)."""
    sets = [ps for folder in data for ps in find_sets(folder)]
    results = []
    for ps in sets:
        log.info("photo check: %s (%s)", ps.name, ps.kind)
        if ps.kind == "masks":
            results.append(check_masks(cfg, ps, models, limit))
        elif models:
            results.append(check_patches(cfg, ps, limit))
    model = {"classifier": cfg.models.classifier, "segmenter": cfg.models.segmenter}
    return {"model": model, "sets": results}
