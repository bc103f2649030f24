"""The photo check: real photos with hand-drawn masks are the yardstick of detection and measurement.

`python -m edge photo-check --data DIR ...` runs the robot's own code path (edge.loop.runner.run, a folder
camera, no pose, 1 mm per pixel) over each folder of photos and scores every photo against its mask,
measured by a reference of its own (reference.py), not by the runtime's rules. It scores twice:
- exact: the true mask through the runtime's measurement (edge/frame/cascade.py, edge/frame/measure.py), which
  checks the measurement rules alone;
- models: what the robot reported with its classifier and segmenter.
Crack-free patch folders (Negative/) count false alarms. Nothing here runs on the robot.
"""
