"""`python -m edge.sim`: synthetic patches, segmentation pairs or a wall, written to a folder."""
from __future__ import annotations

import argparse
import sys

from edge.sim.patches import save_classification_folder, save_segmentation_folder
from edge.sim.textures import KINDS
from edge.sim.walls import render_wall, save_wall

# --------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m edge.sim",
        description="Generate synthetic crack data: classification patches, segmentation pairs, or a wall.",
    )
    p.add_argument("what", choices=("patches", "segmentation", "wall"),
                   help="patches: DIR/Positive|Negative/*.png; segmentation: DIR/images + DIR/masks; "
                        "wall: DIR/wall.png, wall_mask.png, cracks.json")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--n", type=int, default=200, help="number of patches (patches, segmentation)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    p.add_argument("--size", type=int, default=227, help="patch size in px")
    p.add_argument("--kind", choices=KINDS + ("both",), default=None,
                   help="surface; patches default to both, a wall to concrete")
    p.add_argument("--width-px", type=int, default=6000, help="wall width in px")
    p.add_argument("--height-px", type=int, default=3000, help="wall height in px")
    p.add_argument("--cracks", type=int, default=8, help="number of cracks on the wall")
    p.add_argument("--mm-per-px", type=float, default=0.5, help="wall scale in mm per px")
    return p


def main(argv=None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    try:
        if args.what == "wall":
            if args.kind == "both":
                raise ValueError("a wall is one surface: use --kind concrete or --kind masonry")
            wall = render_wall(args.width_px, args.height_px, args.cracks, args.kind or "concrete",
                               args.seed, args.mm_per_px)
            save_wall(wall, args.out)
            print(
                f"wrote a {args.width_px}x{args.height_px} {wall.kind} wall with {len(wall.cracks)} cracks to "
                f"{args.out}"
            )
            return 0
        kinds = KINDS if args.kind in (None, "both") else (args.kind,)
        if args.what == "patches":
            counts = save_classification_folder(args.out, args.n, args.size, args.seed, kinds)
            print(f"wrote {counts['Positive']} Positive and {counts['Negative']} Negative patches to {args.out}")
        else:
            n = save_segmentation_folder(args.out, args.n, args.size, args.seed, kinds)
            print(f"wrote {n} image/mask pairs to {args.out}")
        return 0
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

