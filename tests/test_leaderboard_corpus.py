"""Valid but extreme records through every page of the app: none may raise, and every string from a
record reaches the page as literal text (no link, image or code span a record could smuggle in)."""

from __future__ import annotations

import re

import pytest

from tests.app_pages import open_page
from tests.records import make_record
from tfmeta.records import few_shot

PAGES = ("few_shot", "significance", "curves", "optimizers", "inner_loop", "methods", "submit")
INJECTION = "[click me](http://evil.example/x) ![img](http://evil.example/i.png) `code <b>bold</b>"


def _curve_block(steps: list[int], accuracy: list[float], episodes: int) -> dict:
    return {
        "steps": steps, "trained_steps": steps[-1] if steps else 0, "episodes": episodes,
        "accuracy_mean": accuracy, "accuracy_ci95": [0.0] * len(accuracy),
        "loss_mean": [1e308] * len(accuracy), "loss_ci95": [0.0] * len(accuracy),
        "accuracy_at_trained_steps": [accuracy[-1]] * episodes if accuracy else [],
    }  # fmt: skip


def corpus() -> dict[str, dict]:
    """Records that pass the schema, each at an edge."""
    one = make_record("one_episode", per_episode=[1.0])
    one["config"]["test_episodes"] = 1
    empty_curve = make_record("no_curve")
    empty_curve["curve"] = []
    huge = make_record("huge_numbers", seconds=1e300)
    huge["params"] = 10**15
    huge["timing"].update(test_seconds=1e-300, train_ms_per_episode=1e-300)
    tiny = make_record("tiny_numbers", per_episode=[5e-324] * 20, seconds=5e-324)
    unicode_name = make_record("long_" + "x" * 95)  # names are ASCII identifiers; free text is any text
    unicode_name["notes"] = "名前-ünï- 🙂 " * 800
    unicode_name["method"]["paper"] = "ж" * 5000
    injected = make_record("injected")
    injected["method"].update(paper=INJECTION, import_path="x`](http://evil.example)`:Y")
    injected["notes"] = INJECTION
    injected["provenance"].update(command=INJECTION, git_commit="](http://evil.example)")
    inner = make_record("inner_loop_edges")
    inner["analysis"] = {
        "inner_curve": _curve_block([0], [0.2], 1),
        "baseline_curves": {"sgd": {**_curve_block([0], [0.2], 1), "learning_rate": 1e-300, "tuned": True}},
        "paired_vs_baselines": {},
        "curve_start": {
            "record": "](http://evil.example)" + "x" * 250,
            "method": "<b>m</b>",
            "weights_sha256": "0" * 64,
            "inner_curve": _curve_block([0], [0.2], 1),
            "baseline_curves": {},
        },
        "accuracy_vs_m": [],
        "projection": [],
        "trained_m": 0,
    }
    empty_analysis = make_record("empty_analysis")
    empty_analysis["analysis"] = {"baseline_curves": {}, "paired_vs_baselines": {}, "tuning": {}}
    nulls = make_record("null_curve_values")
    nulls["curve"] = [{"episode": 0, "seconds": 0.0, "loss": None, "accuracy": None}]
    nulls["method"]["config"] = {}
    nulls["config"]["method_config"] = {}
    nulls["provenance"]["hardware"] = {}
    return {
        "one_episode": one, "empty_curve": empty_curve, "huge": huge, "tiny": tiny,
        "unicode": unicode_name, "injected": injected, "inner": inner, "empty_analysis": empty_analysis,
        "nulls": nulls,
    }  # fmt: skip


@pytest.fixture(scope="module")
def extreme_board(tmp_path_factory):
    board = tmp_path_factory.mktemp("extreme")
    for name, record in corpus().items():
        few_shot.write(record, board, f"{name}.json")  # every one passes the record checks
    return board


@pytest.mark.parametrize(  # the methods page opens once per record of the corpus: the slow tier
    "page", [pytest.param(page, marks=pytest.mark.slow) if page == "methods" else page for page in PAGES]
)
def test_no_valid_record_makes_a_page_raise(page, extreme_board, monkeypatch):
    app = open_page(extreme_board, page, monkeypatch)
    if page == "methods":
        for name in corpus():
            wanted = next(
                o for o in app.selectbox[0].options if o.startswith(corpus()[name]["method"]["name"][:5])
            )
            app.selectbox[0].set_value(wanted).run()
            assert not app.exception, (name, app.exception)
    texts = [e.value for kind in ("markdown", "caption", "subheader", "header", "warning", "info")
             for e in getattr(app, kind)]  # fmt: skip
    for text in texts:
        assert not re.search(r"(?<!\\)\]\((?!\\)", text), text  # no link or image syntax survives unescaped
        assert "evil.example" not in text or "\\" in text
