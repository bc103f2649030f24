"""The inspection report an engineer can file: one Jinja2 template (report.html.j2) with print CSS for
A4, rendered from a plain context, and printed to PDF by a headless Chromium where one is installed.

It lives below both of its users so that they share one report: `python -m monitor.report` fills it
from the crack registry (monitor may import edge), `python -m edge inspect` from a folder of photos
(edge may not import monitor). Desktop only, like the photo check: a device install leaves it out,
and Jinja2 comes with the `report` extra."""
