"""The dashboard's SVG charts, parsed as XML: one bar segment per non-empty value, each a link carrying the view's
filters and its bucket and group; stacked counts, side-by-side percentiles; role, titles and aria-labels; text
escaped; sparklines with gaps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from test_explore import BASE, fill, iso, window

from golive.dashboard.charts import bar_chart, sparkline
from golive.telemetry import explore
from golive.telemetry.store import Store

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:rect[@class='bar']", NS)


def series(groups: dict[str, list[float | None]], metric: str = "count", group_by: str = "status_class",
           bucket_s: int = 60) -> dict[str, Any]:
    count = len(next(iter(groups.values()), []))
    return {"metric": metric, "group_by": group_by, "bucket_s": bucket_s, "start": iso(BASE),
            "end": iso(BASE + bucket_s * count), "buckets": [iso(BASE + bucket_s * i) for i in range(count)],
            "groups": [{"key": key, "values": values} for key, values in groups.items()], "filters": {}}


@pytest.fixture(scope="module")
def chart_of_the_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = Store(tmp_path_factory.mktemp("charts") / "t.duckdb")
    fill(store)
    answer = explore.series(store.cursor(), window(route="GET /users/{id}"), "count", "status_class", buckets=10)
    store.close()
    return answer


def test_each_bar_segment_links_to_its_requests_with_the_views_filters(chart_of_the_store: dict[str, Any]) -> None:
    view = window(route="GET /users/{id}")

    def link(bucket: str, key: str) -> str:
        return "/_golive/invocations?" + urlencode({**explore.filters_to_params(view), "status_class": key,
                                                    "start": bucket})
    root = parse(bar_chart(chart_of_the_store, link=link))
    non_empty = sum(1 for group in chart_of_the_store["groups"] for value in group["values"] if value)
    assert non_empty == 5 and len(bars(root)) == non_empty  # 2xx in minutes 0, 1; 4xx in 1, 2; 5xx in 3
    anchors = root.findall(".//svg:a", NS)
    assert len(anchors) == non_empty
    opened = [parse_qs(urlsplit(anchor.get("href", "")).query) for anchor in anchors]
    assert all(query["route"] == ["GET /users/{id}"] for query in opened)
    assert sorted((query["status_class"][0], query["start"][0]) for query in opened) == [
        ("2xx", iso(BASE)), ("2xx", iso(BASE + 60)), ("4xx", iso(BASE + 60)), ("4xx", iso(BASE + 120)),
        ("5xx", iso(BASE + 180))]
    # every link is reachable by keyboard and says where it goes
    assert all(anchor.get("aria-label", "").endswith(": open the requests") for anchor in anchors)


def test_counts_stack_and_the_tallest_bar_reaches_the_axis_top() -> None:
    root = parse(bar_chart(series({"2xx": [8, 2, 0], "5xx": [2, 0, 5]}), height=280))
    rects = bars(root)
    assert len(rects) == 4  # the zero is not drawn
    first_bucket = [r for r in rects if float(r.get("x", 0)) < 100]
    assert len(first_bucket) == 2 and len({r.get("x") for r in first_bucket}) == 1  # one column: stacked
    heights = sorted(float(r.get("height", 0)) for r in first_bucket)
    assert heights[1] == pytest.approx(4 * heights[0], rel=0.02)  # 8 over 2
    labels = [t.text for t in root.findall(".//svg:g[@class='axis y-axis']/svg:text", NS)]
    assert labels == ["0", "5", "10"]  # a total of 10 is the top
    few = parse(bar_chart(series({"2xx": [1, 3]})))
    assert [t.text for t in few.findall(".//svg:g[@class='axis y-axis']/svg:text", NS)] == ["0", "1", "2", "3"]
    slow = parse(bar_chart(series({"GET /a": [0.3, 0.7]}, metric="p99", group_by="route")))
    assert [t.text for t in slow.findall(".//svg:g[@class='axis y-axis']/svg:text", NS)] == \
        ["0", "0.2", "0.4", "0.6", "0.8"]
    tops = [float(r.get("y", 0)) for r in first_bucket]
    gridline_top = min(float(line.get("y1", 0)) for line in root.findall(".//svg:g[@class='axis y-axis']/svg:line",
                                                                           NS))
    assert min(tops) == pytest.approx(gridline_top, abs=0.05)


def test_percentiles_stand_side_by_side_and_empty_buckets_draw_nothing() -> None:
    root = parse(bar_chart(series({"GET /a": [12.5, None], "GET /b": [40.0, 3.0]}, metric="p95", group_by="route")))
    rects = bars(root)
    assert len(rects) == 3
    first = sorted((float(r.get("x", 0)), r) for r in rects)[:2]
    assert first[0][0] != first[1][0]  # two bars in the first bucket, next to each other
    titles = sorted(r.findtext("svg:title", namespaces=NS) or "" for r in rects)
    assert titles[0].startswith("GET /a, ") and titles[0].endswith(": 12.5")
    assert "p95 latency (ms) by route" in root.get("aria-label", "")


def test_the_chart_is_an_image_with_a_title_axes_and_a_legend_in_text() -> None:
    root = parse(bar_chart(series({"2xx": [1, 2, 3, 4], "4xx": [0, 1, 0, 0]})))
    assert root.get("role") == "img" and root[0].tag == "{http://www.w3.org/2000/svg}title"
    assert root[0].text == root.get("aria-label")
    assert root.get("aria-label", "").startswith("requests by status class from ")
    assert "4 bars of 60 s" in root.get("aria-label", "")
    legend = [t.text for t in root.findall(".//svg:g[@class='legend']/svg:text", NS)]
    assert legend == ["2xx", "4xx"]
    times = [t.text for t in root.findall(".//svg:g[@class='axis x-axis']/svg:text", NS)]
    assert times[0] == iso(BASE)[11:16] and len(times) == 4
    assert not root.findall(".//svg:a", NS)  # no link given: plain bars
    fills = {r.get("fill") for r in bars(root)}
    assert len(fills) == 2  # a colour per status class


def test_keys_and_links_are_escaped_and_an_empty_range_says_so() -> None:
    root = parse(bar_chart(series({"GET /a?<b>&c": [1]}, group_by="route"), link=lambda b, k: f"/x?k={k}&b={b}"))
    assert root.find(".//svg:g[@class='legend']/svg:text", NS).text == "GET /a?<b>&c"  # type: ignore[union-attr]
    assert root.find(".//svg:a", NS).get("href") == f"/x?k=GET /a?<b>&c&b={iso(BASE)}"  # type: ignore[union-attr]
    empty = parse(bar_chart(series({}, group_by="route") | {"buckets": [iso(BASE)]}))
    assert not bars(empty)
    assert "no requests in this range" in [t.text for t in empty.iter("{http://www.w3.org/2000/svg}text")]


def test_sparkline_is_a_labelled_line_with_gaps_where_values_are_missing() -> None:
    root = parse(sparkline([1, 4, 2, None, 3, 5], label="GET /users requests"))
    assert root.get("role") == "img" and root.get("aria-label") == "GET /users requests: latest 5, peak 5"
    assert root.findtext("svg:title", namespaces=NS) == root.get("aria-label")
    lines = root.findall("svg:polyline", NS)
    assert [len(line.get("points", "").split()) for line in lines] == [3, 2]
    heights = [float(point.split(",")[1]) for point in lines[0].get("points", "").split()]
    assert heights[1] < heights[2] < heights[0]  # 4 is highest (smallest y), then 2, then 1
    lone = parse(sparkline([None, 2, None], label="x", width=60, height=20))
    assert len(lone.findall("svg:circle", NS)) == 1 and not lone.findall("svg:polyline", NS)
    assert (lone.get("width"), lone.get("height")) == ("60", "20")
    assert parse(sparkline([], label="idle")).get("aria-label") == "idle: no data"


def test_board_sparklines_draw_the_boards_own_counts(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.duckdb")
    fill(store)
    row = explore.board(store.cursor(), window(), buckets=10)["rows"][0]
    store.close()
    root = parse(sparkline(row["sparkline"], label=f"{row['route']} requests"))
    [line] = root.findall("svg:polyline", NS)
    assert len(line.get("points", "").split()) == 10
    assert root.get("aria-label") == "GET /users/{id} requests: latest 0, peak 2"


def test_a_long_legend_wraps_onto_more_rows_and_the_bars_start_below_it() -> None:
    routes = {f"GET /a/rather/long/route/number/{i}": [1.0, 2.0] for i in range(8)}
    root = parse(bar_chart(series(routes, group_by="route"), width=600))
    swatches = root.findall(".//svg:g[@class='legend']/svg:rect", NS)
    rows = sorted({float(r.get("y", 0)) for r in swatches})
    assert len(swatches) == 8 and len(rows) > 1
    assert all(float(r.get("x", 0)) + 14 + 6.5 * 35 <= 600 + 14 for r in swatches)  # nothing runs off the edge
    assert min(float(r.get("y", 0)) for r in bars(root)) >= max(rows) + 10  # the tallest bar starts below it
