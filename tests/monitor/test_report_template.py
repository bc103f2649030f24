"""monitor.report on the shared template: the map's colours, crops the registry received over MQTT,
and the header options."""
from __future__ import annotations

import pytest

from edge.report.colours import BEYOND_SCALE_RGB, SEVERITY_RGB
from monitor.palette import BEYOND_SCALE, SEVERITY_COLOURS
from monitor.report import render_report, stored_crop

pytest.importorskip("jinja2")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def test_report_colours_are_the_maps():
    assert {c: bgr[::-1] for c, bgr in SEVERITY_COLOURS.items()} == SEVERITY_RGB
    assert BEYOND_SCALE[::-1] == BEYOND_SCALE_RGB


class StoresCrops:
    def __init__(self, data):
        self.data = data

    def evidence_jpeg(self, robot_id, crack_id):
        return self.data


def test_a_crop_received_over_mqtt_is_embedded_before_the_path():
    crack = {"robot_id": "r", "crack_id": "c", "evidence": "/robot/crops/c.jpg", "severity_category": 2}
    html = render_report([crack], registry=StoresCrops(JPEG), site="Harbour Road", inspector="A. Engineer")
    assert 'src="data:image/jpeg;base64,' in html and "/robot/crops/c.jpg" not in html
    assert "Harbour Road" in html and "A. Engineer" in html
    html = render_report([crack], registry=object())  # a registry without stored crops: the path, as before
    assert "no evidence root given: /robot/crops/c.jpg" in html


@pytest.mark.parametrize("data", [None, b"<svg onload=alert(1)>", b"\xff\xd8" + b"\x00" * (6 * 1024 * 1024)])
def test_only_a_jpeg_of_sane_size_is_embedded(data):
    assert stored_crop(StoresCrops(data), {"robot_id": "r", "crack_id": "c"}) is None
