"""`tfmeta report`: the docs' results are generated from the verified records, and only from them."""

from __future__ import annotations

import re

import pytest

from tests.records import REPO
from tfmeta import cli
from tfmeta.records import entries, few_shot, report
from tfmeta.records.frames.tables import group_tables

# What a result looks like when typed by hand: a value with its interval ("95.4 +- 0.3", "± 0.2"), a p-value
# ("p = 0.03", "p < 1e-18", "p = 1"; not a design constant such as "p = 10"), accuracies side by side
# ("93.47 / 98.57", "a / b / c") and a training time ("52 min").
RESULT_NUMBER = re.compile(
    r"\d(\.\d+)? *(\+-|±) *\d"
    r"|\bp *[=<>≤] *(0?\.\d|\d(\.\d+)?e-|1\b(?![.,]?\d))"
    r"|\d+\.\d+ */ *\d+\.\d+"
    r"|\d+(\.\d+)? *min(utes)?\b"
)
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
# Pages another generator writes: `tfmeta speed` measures performance.md, from no record.
OTHER_GENERATORS = ("performance.md",)


@pytest.fixture(scope="module")
def rendered():
    return report.render(REPO)


@pytest.mark.slow
def test_the_generated_docs_equal_a_fresh_report(rendered):
    """Regenerated from the records, every generated file and block is what is committed: a changed record
    or a hand edit of a number shows here (`tfmeta report` rewrites them)."""
    stale = [str(path.relative_to(REPO)) for path, text in rendered.items() if path.read_text() != text]
    assert not stale, f"run `tfmeta report`: {stale}"
    assert REPO / report.RESULTS_PAGE in rendered and REPO / "README.md" in rendered


def test_readme_types_no_result_number_by_hand():
    """README's numbers sit in generated blocks only."""
    text = report.BLOCK.sub("", (REPO / "README.md").read_text())
    assert not RESULT_NUMBER.findall(text), RESULT_NUMBER.search(text)


def hand_typed_results(text: str) -> list[str]:
    """The result numbers of a page outside its generated blocks and fenced code (commands and their
    example output), each with a little context."""
    text = FENCED.sub("", report.BLOCK.sub("", text))
    return [text[max(0, m.start() - 40) : m.end() + 10] for m in RESULT_NUMBER.finditer(text)]


@pytest.mark.parametrize(
    "page", sorted(p.name for p in (REPO / "docs").glob("*.md") if p.name not in OTHER_GENERATORS)
)
def test_docs_type_no_result_number_by_hand(page):
    """Each docs page's results sit in blocks `tfmeta report` generates from the records; prose states no
    accuracy, interval, p-value or training time of its own (design constants such as `p = 10` are no
    results)."""
    assert not hand_typed_results((REPO / "docs" / page).read_text())


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("scores 95.49 +- 0.30 on test", True),
        ("(Wilcoxon p = 4e-6)", True),
        ("momentum (p = 0.011)", True),
        ("ties (Holm p = 1)", True),
        ("93.47 / 98.57 at 8,000 episodes", True),
        ("96.78 / 99.12 / 90.86 / 96.88", True),
        ("about 6 minutes of training", True),
        ("with `p = 10` (`preprocess_p`)", False),
        ("log_sign, p = 10); its output", False),
        ("the 95% CI over test episodes", False),
    ],
)
def test_the_result_pattern_finds_results_and_leaves_design_constants(typed, found):
    assert bool(hand_typed_results(typed)) is found


def test_a_block_the_report_does_not_make_is_refused():
    with pytest.raises(report.ReportError, match="no report block called 'nothing'"):
        report.fill("<!-- report:nothing -->\n<!-- /report:nothing -->", {"claims": ""}, "page.md")


@pytest.mark.slow
def test_the_docs_comparisons_set_apart_entries_that_differ_in_one_thing():
    """Each comparison the optimization page draws between two variants names entries whose configuration
    differs in one thing only (MAML against first-order MAML: the second-order term), on every setting it
    is decided on; first-order MAML at another inner step than MAML's is no fair comparison with MAML."""
    records = report.verified(few_shot.load_all(REPO / "leaderboard" / "results").records)
    tables = group_tables(records, by_protocol=False)
    for claim in report.OPTIMIZATION_CLAIMS:
        pairs = [(report._one(t, claim.a, claim), report._one(t, claim.b, claim)) for t in tables]
        pairs = [(a[1], b[1]) for a, b in pairs if a and b]
        assert pairs, claim.name
        for a, b in pairs:
            ca, cb = ({**entries.LATER_ARGUMENTS, **entries.defining(r["method"]["config"])} for r in (a, b))
            changed = {k for k in ca.keys() | cb.keys() if ca.get(k) != cb.get(k)}
            if a["method"]["name"] != b["method"]["name"]:
                changed = (changed - {"second_order"}) | {"method"}
            changed |= (
                {"training"}
                if a["config"]["train"] | {"seed": 0} != b["config"]["train"] | {"seed": 0}
                else set()
            )
            assert len(changed) == 1, (claim.name, changed)


def claim_lines(rendered) -> dict[tuple[str, str], str]:
    page = rendered[REPO / report.RESULTS_PAGE]
    lines, title = {}, ""
    for line in page.splitlines():
        if line.startswith("**") and "Holm-corrected" in line:
            title = line
        elif line.startswith("- ") and title:
            lines[(title, line[2:].split(":")[0])] = line
    return lines


@pytest.mark.slow
@pytest.mark.parametrize(
    ("claim", "setting"),
    [
        ("ProtoNet with hallucinated examples", "20-way 1-shot"),
        ("Reptile against MAML", "5-way 5-shot"),
    ],
)
def test_claims_that_ignored_seed_variance_now_tie(claim, setting, rendered):
    """Three claims an episode-only Wilcoxon called significant, which the spread across training seeds
    does not support."""
    ((line,),) = [[v for (title, s), v in claim_lines(rendered).items() if claim in title and s == setting]]
    assert "**ties**" in line, line


@pytest.mark.slow
def test_every_verdict_prints_the_interval_it_used(rendered):
    for line in claim_lines(rendered).values():
        outcome = re.search(r"\*\*(beats|ties|loses to)\*\*", line)[1]
        low, high = (float(v) for v in re.search(r"\[([-+]\d+\.\d+), ([-+]\d+\.\d+)\]", line).groups())
        assert (outcome == "ties") == (low <= 0 <= high), line


@pytest.mark.slow
def test_a_claim_naming_several_entries_is_refused():
    records = report.verified(few_shot.load_all(REPO / "leaderboard" / "results").records)
    vague = report.Claim("vague", "MAML against ProtoNet", {"method": "maml"}, {"method": "protonet"})
    with pytest.raises(report.ReportError, match="matches several entries"):
        report.claims(records, [vague])
    missing = report.Claim("missing", "x", {"method": "nothing"}, {"method": "relation"})
    with pytest.raises(report.ReportError, match="no setting has both entries"):
        report.claims(records, [missing])


@pytest.mark.slow
def test_the_check_mode_writes_nothing_and_says_what_differs(tmp_path, monkeypatch, capsys):
    assert cli.main(["report", "--check"]) == 0
    page = REPO / report.RESULTS_PAGE
    original = page.read_text()
    try:
        page.write_text(original.replace("| 1 |", "| 2 |", 1))
        assert cli.main(["report", "--check"]) == 1
        assert "differs: docs/results.md" in capsys.readouterr().out
        assert page.read_text() != original  # --check wrote nothing
    finally:
        page.write_text(original)
