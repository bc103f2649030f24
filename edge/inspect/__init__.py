"""`python -m edge inspect PHOTOS... --out DIR`: the robot's own code path over a user's photos, offline,
with no broker: every photo with its cracks drawn (mask, box, figures), a CSV of the cracks, and the
inspection report (HTML, and PDF on request).

Where the report comes from: edge may not import monitor, so the report's template sits below both, in
edge/report, and this command and `python -m monitor.report` fill the same template (one report to file,
whichever way the cracks were found). Both are desktop tools, left out of a device install.

Photos have no pose, so each is a scene of its own (see the photo check): nothing says two photos show
the same crack. Without --mm-per-px (or a config with scale.mm_per_px) sizes are in pixels and no
severity is given, as a width class in pixels would mean nothing.

Which tiles are segmented: by default every tile (`models.segment: all`), not the robot's cascade
(`follow`: the classifier's crack tiles and the neighbours each crack runs into). On a robot the
classifier gate buys frame rate; on photos it costs the cracks it misses: the photo check found the gate
misses 30-60 % of the cracked photos of masonry, CFD and the bridge tiles, while segmenting every tile
finds 96-100 % of them. The price is time (every tile through the segmenter) and more false marks on
crack-free texture; `--set models.segment=follow` gives the robot's behaviour."""
