"""Evaluation figures: a grid of image / ground truth / prediction / overlay, and for
classifiers a confusion matrix. Matplotlib with the Agg backend (no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _pick(n_total: int, scores: np.ndarray, k: int) -> List[int]:
    """The k worst (lowest score) then, if room is left, evenly spread others: a grid shows
    where the model fails, not only where it shines."""
    order = list(np.argsort(scores, kind="stable"))
    worst = order[: k // 2]
    rest = [i for i in np.linspace(0, n_total - 1, k).round().astype(int).tolist() if i not in worst]
    return (worst + rest)[:k]


def overlay(image: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Green = found crack, red = false alarm, blue = missed crack, on a dimmed image."""
    out = (image.astype(np.float32) * 0.6).astype(np.uint8)
    t, p = truth.astype(bool), pred.astype(bool)
    out[t & p] = (40, 220, 40)
    out[~t & p] = (230, 40, 40)
    out[t & ~p] = (40, 90, 255)
    return out


def segmentation_grid(data, probs: List[np.ndarray], threshold: float, path: Path, rows: int = 8) -> Path:
    from .segmetrics import pixel_metrics

    plt = _plt()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(data)
    f1s = np.asarray([pixel_metrics(m, p >= threshold)["f1"] if m.any() else 1.0 - float((p >= threshold).mean())
                      for m, p in zip(data.masks, probs)])
    picks = _pick(n, f1s, min(rows, n))
    fig, axes = plt.subplots(len(picks), 4, figsize=(12, 3 * len(picks)), squeeze=False)
    for r, i in enumerate(picks):
        pred = probs[i] >= threshold
        panels = (data.images[i], data.masks[i], probs[i], overlay(data.images[i], data.masks[i], pred))
        titles = (f"{data.sources[i]} {data.names[i] if data.names else i}", "ground truth",
                  "crack probability", f"overlay (pixel F1 {f1s[i]:.2f})")
        for ax, img, title in zip(axes[r], panels, titles):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1 if img.ndim == 2 else None)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"threshold {threshold:.2f}; overlay: green found, red false alarm, blue missed", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def classification_grid(data, probs: np.ndarray, threshold: float, path: Path, n: int = 24) -> Path:
    """Patches with truth, probability and decision; mistakes first, framed in red."""
    plt = _plt()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    correct = (np.asarray(probs) >= threshold).astype(int) == data.labels
    margin = np.abs(np.asarray(probs) - threshold) * np.where(correct, 1.0, -1.0)
    picks = _pick(len(data), margin, min(n, len(data)))
    cols = 6
    rows = -(-len(picks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), picks):
        ax.imshow(data.images[i])
        truth = "crack" if data.labels[i] else "no crack"
        ax.set_title(f"{truth}: p={probs[i]:.2f}", fontsize=8, color="black" if correct[i] else "red")
        if not correct[i]:
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(3)
                spine.set_visible(True)
    fig.suptitle(f"title: truth and crack probability (threshold {threshold:.2f}); red = wrong", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def confusion_matrix_png(metrics: Dict[str, Any], path: Path) -> Path:
    plt = _plt()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cm = np.array([[metrics["tn"], metrics["fp"]], [metrics["fn"], metrics["tp"]]])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(cm, cmap="Blues")
    for (r, c), v in np.ndenumerate(cm):
        ax.text(c, r, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks([0, 1], ["no crack", "crack"])
    ax.set_yticks([0, 1], ["no crack", "crack"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {metrics['accuracy']:.4f} (n {metrics['n']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def precision_recall_png(result: Dict[str, Any], path: Path) -> Path:
    """Precision against recall over thresholds, per source and for all, on exact pixels (solid) and within
    2 px (dashed): the curves behind ODS. `result` is a segmentation evaluate result (pr_curve per source)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=120)
    rows = list(result.get("per_source", {}).items()) + [("all", result)]
    for i, (name, m) in enumerate(rows):
        colour = "black" if name == "all" else f"C{i % 10}"
        for kind, style in (("exact", "-"), ("tol2", "--")):
            curve = m["pr_curve"][kind]
            ods = m["ods_f1_exact"] if kind == "exact" else m["ods_f1"]
            label = f"{name} ({'0 px' if kind == 'exact' else '2 px'}, ODS {ods:.3f})"
            ax.plot(curve["recall"], curve["precision"], style, color=colour, lw=1.4, label=label)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall over thresholds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
