"""scan-check scoring on hand-made reports, and the registry-side wrapper in monitor.scoring."""
import numpy as np
import pytest

from edge.comms.events import final_reports
from edge.sim.scancheck import parse_seeds, score_wall, summarize
from edge.sim import SyntheticWall, WallCrack
from monitor.scoring import measurement_scores


def _wall():
    c1 = WallCrack(crack_id=1, polylines=(), bbox_px=(100, 100, 500, 110), max_width_px=6.0, length_px=400.0)
    c2 = WallCrack(crack_id=2, polylines=(), bbox_px=(1000, 600, 1010, 900), max_width_px=1.0, length_px=300.0)
    return SyntheticWall(rgb=np.zeros((1, 1, 3), np.uint8), mask=np.zeros((1, 1), np.uint8), cracks=(c1, c2),
                         mm_per_px=0.5, kind="concrete")


def _event(cid, seq, box, length, width):
    return {"crack_id": cid, "seq": seq, "wall": {"bbox_mm": box}, "length_mm": length, "width_max_mm": width}


def test_scores_found_length_width_position_and_false_reports():
    events = [
        _event("a", 0, [50, 50, 240, 55], 190.0, 2.0),
        _event("a", 1, [52, 50, 251, 55], 208.0, 3.4),  # the last word on crack a
        _event("ghost", 0, [2000, 2000, 2010, 2010], 5.0, 1.0),
    ]
    result = score_wall(final_reports(events), _wall())
    row = result["cracks"][0]
    assert row["crack_ids"] == ["a"] and row["length_error_rel"] == 0.04
    assert row["width_error_mm"] == 0.4 and row["position_error_mm"] == 2.0 and row["pass"]
    assert result["cracks"][1]["crack_ids"] == [] and not result["cracks"][1]["pass"]
    # crack 2 is 0.5 mm wide: not among those that must be found
    assert result["known_wider_than_1mm"] == 1 and result["passed_wider_than_1mm"] == 1
    assert result["reports_on_no_known_crack"] == ["ghost"]


def test_split_crack_and_wrong_length_fail():
    events = [_event("a", 0, [50, 50, 140, 55], 90.0, 3.0), _event("b", 0, [160, 50, 250, 55], 90.0, 3.0)]
    result = score_wall(final_reports(events), _wall())
    assert result["cracks"][0]["crack_ids"] == ["a", "b"] and not result["one_id_each"]
    assert result["passed_wider_than_1mm"] == 0


def test_a_crack_merged_into_another_is_not_a_report_of_its_own():
    events = [_event("a", 0, [50, 50, 240, 55], 190.0, 3.0), _event("b", 0, [200, 50, 251, 55], 30.0, 3.0),
              dict(_event("b", 1, [200, 50, 251, 55], 30.0, 3.0), merged_into="a")]
    assert list(final_reports(events)) == ["a"]


def test_totals_over_several_walls():
    good = score_wall(final_reports([_event("a", 0, [52, 50, 251, 55], 208.0, 3.4)]), _wall())
    split = score_wall(final_reports([_event("a", 0, [50, 50, 140, 55], 90.0, 3.0),
                                      _event("b", 0, [160, 50, 250, 55], 90.0, 3.0)]), _wall())
    s = summarize([good, split])
    assert (s["walls"], s["known_wider_than_1mm"], s["found"], s["one_id"], s["passed"]) == (2, 2, 2, 1, 1)
    assert s["length_within"] == 1 and s["length_error_worst_pct"] == -55.0  # the split wall's best piece: 90 of 200 mm
    assert s["width_within"] == 2 and s["width_error_range_mm"] == [0.0, 0.4]
    assert s["reports"] == 3 and s["reports_on_no_known_crack"] == 0


def test_seed_lists_and_ranges():
    assert parse_seeds("1-3,8") == [1, 2, 3, 8] and parse_seeds("5") == [5]
    with pytest.raises(ValueError, match="like 1-7"):
        parse_seeds("one")


def test_registry_rows_are_scored_the_same_way():
    rows = [{"crack_id": "a", "wall_bbox_mm": [50, 50, 250, 55], "length_mm": 260.0, "width_max_mm": 3.0}]
    result = measurement_scores(rows, _wall())
    assert result["cracks"][0]["length_error_rel"] == 0.3 and not result["cracks"][0]["pass"]  # 30 % too long
