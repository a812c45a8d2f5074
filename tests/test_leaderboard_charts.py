"""Every chart of every page, on the shipped records, answers without hovering: its data is not empty, every
multi-series colour has a legend (in the chart or, for small multiples, in a chart beside it on the page)
or direct labels, and an axis domain set by hand covers the data it draws."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.records import REPO

APP = REPO / "leaderboard" / "app.py"
PAGES = ("few_shot", "significance", "curves", "optimizers", "inner_loop", "methods")
SERIES = ("color", "fill", "stroke")

pytestmark = pytest.mark.slow  # every test runs the app on the shipped records


def charts(page: str, monkeypatch, tmp_path) -> list[tuple[dict, dict]]:
    """Each chart of a page as (Vega-Lite spec, {dataset name: Arrow table})."""
    monkeypatch.setenv("TFMETA_SHIPPED_RECORDS", "on")
    monkeypatch.setenv("TFMETA_RESULTS_DIR", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    if page != "few_shot":
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, app.exception
    found = []
    for chart in app.get("vega_lite_chart"):
        tables = {d.name: pa.ipc.open_stream(d.data.data).read_all() for d in chart.proto.datasets}
        found.append((json.loads(chart.proto.spec), tables))
    return found


def layers(spec: dict) -> list[dict]:
    return spec.get("layer") or [spec]


def legends(spec: dict) -> dict[str, bool]:
    """Per series field: whether some layer draws a legend for it."""
    shown: dict[str, bool] = {}
    for layer in layers(spec):
        for channel in SERIES:
            encoding = layer.get("encoding", {}).get(channel)
            if encoding and "field" in encoding:
                shown[encoding["field"]] = (
                    shown.get(encoding["field"], False) or encoding.get("legend", {}) is not None
                )
    return shown


def conflicting(spec: dict) -> list[str]:
    """Fields whose colour legend one layer switches off and another draws: Vega-Lite then draws none
    ("Conflicting legend property"), so a band's `legend: null` hides its lines' legend."""
    settings: dict[str, set[bool]] = {}
    for layer in layers(spec):
        encoding = layer.get("encoding", {}).get("color")
        if encoding and "field" in encoding:
            settings.setdefault(encoding["field"], set()).add(encoding.get("legend", {}) is None)
    return [field for field, values in settings.items() if values == {True, False}]


def labelled(spec: dict) -> bool:
    return any(
        (layer.get("mark", {}).get("type") if isinstance(layer.get("mark"), dict) else layer.get("mark"))
        == "text"
        for layer in layers(spec)
    )


def data_of(layer: dict, spec: dict, tables: dict) -> pa.Table | None:
    name = (layer.get("data") or spec.get("data") or {}).get("name")
    return tables.get(name)


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_is_readable_without_hovering(page, monkeypatch, tmp_path):
    found = charts(page, monkeypatch, tmp_path)
    assert found or page == "methods", f"{page} draws no chart"
    page_legends = {field for spec, _ in found for field, shown in legends(spec).items() if shown}
    for spec, tables in found:
        assert tables and all(t.num_rows for t in tables.values()), f"{page}: a chart with empty data"
        assert not conflicting(spec), f"{page}: conflicting colour legends on {conflicting(spec)}"
        for layer in layers(spec):
            table = data_of(layer, spec, tables)
            for channel in SERIES:
                encoding = layer.get("encoding", {}).get(channel, {})
                field = encoding.get("field")
                if not field or table is None or field not in table.column_names:
                    continue
                if len(set(table.column(field).to_pylist())) > 1:
                    assert field in page_legends or labelled(spec), f"{page}: {field} has no legend or labels"
            for axis in ("x", "y"):
                encoding = layer.get("encoding", {}).get(axis, {})
                domain = encoding.get("scale", {}).get("domain")
                field = encoding.get("field")
                if not isinstance(domain, list) or table is None or field not in table.column_names:
                    continue
                values = [v for v in table.column(field).to_pylist() if v is not None]
                if encoding.get("scale", {}).get("clamp"):
                    continue  # clamped on purpose (a band's edge below a log axis' floor)
                assert domain[0] <= min(values) and max(values) <= domain[1], (
                    f"{page}: {field} outside {domain}"
                )
