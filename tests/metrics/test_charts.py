"""Charts are SVG made on the server: well-formed, titled in Chinese, with their figures in text."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from portal.metrics import charts

SVG = "{http://www.w3.org/2000/svg}"
LABELS = [(f"{m}月", "2025" if m == 1 else "") for m in range(1, 13)]


def test_a_bar_chart_is_well_formed_svg_with_a_title_and_a_description():
    svg = charts.bars("受理与解决", LABELS, [("受理", list(range(12))), ("已解决", list(range(12)))])
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "受理与解决"
    assert "12月：受理 11，已解决 11" in root.find(f"{SVG}desc").text
    assert len(root.findall(f"{SVG}rect")) == 2 * 11 + 2  # bars (no bar for 0) + legend keys


def test_a_line_chart_marks_the_target_and_the_points_below_it():
    svg = str(charts.lines("满意率", LABELS, [("满意率", [0.9] * 6 + [0.8] * 5 + [None])], percent=True,
                           target=0.85, target_name="目标 85%"))
    root = ET.fromstring(svg)
    assert any(el.get("stroke-dasharray") for el in root.iter(f"{SVG}line"))
    reds = [c for c in root.iter(f"{SVG}circle") if c.get("fill") == charts.TARGET_COLOUR]
    assert len(reds) == 5 and len(list(root.iter(f"{SVG}circle"))) == 11  # no point where there is no value


def test_labels_are_escaped_and_nothing_runs():
    svg = str(charts.bars("<script>alert(1)</script>", [("<b>", "")], [("x&y", [1])]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_crowded_axis_labels_are_thinned_but_the_last_period_is_always_labelled():
    years = [(str(y), "") for y in range(2015, 2027)]
    svg = str(charts.bars("受理", years, [("受理", [1] * 12)]))
    assert "2026" in svg
    shown = [y for y, _ in years if f">{y}</text>" in svg]
    assert 3 <= len(shown) < 12 and shown[-1] == "2026"


def test_years_under_neighbouring_periods_do_not_run_into_each_other():
    quarters = [("Q4", "2023"), ("Q1", "2024"), ("Q2", ""), ("Q3", ""), ("Q4", ""), ("Q1", "2025")]
    svg = str(charts.bars("受理", quarters * 2, [("受理", [1] * 12)]))
    assert ">2024</text>" in svg and ">2023</text>" not in svg
