"""The simulator: synthetic walls and patches with exact masks, the simulated camera, the oracle
segmenter, an in-memory event sink and the scan-check. Desktop and tests only: never in a device
install, and the runtime never imports it unless the config asks for camera.type sim."""
from edge.sim.cracks import CrackPolyline, draw_crack
from edge.sim.patches import make_patch, make_patches, save_classification_folder, save_segmentation_folder
from edge.sim.textures import KINDS, render_texture
from edge.sim.walls import SyntheticWall, WallCrack, render_wall, save_wall

__all__ = ["CrackPolyline", "KINDS", "SyntheticWall", "WallCrack", "draw_crack", "make_patch", "make_patches",
           "render_texture", "render_wall", "save_classification_folder", "save_segmentation_folder", "save_wall"]
