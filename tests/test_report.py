"""`tfmeta report`: the docs' results are generated from the verified records, and only from them."""

from __future__ import annotations

import re

import pytest

from tests.records import REPO
from tfmeta import cli
from tfmeta.records import few_shot, report

RESULT_NUMBER = re.compile(r"\d+\.\d+ *(\+-|±) *\d|p *= *\d|\d+\.\d+ */ *\d+\.\d+ */ *\d+\.\d+")


@pytest.fixture(scope="module")
def rendered():
    return report.render(REPO)


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


def claim_lines(rendered) -> dict[tuple[str, str], str]:
    page = rendered[REPO / report.RESULTS_PAGE]
    lines, title = {}, ""
    for line in page.splitlines():
        if line.startswith("**") and "Holm-corrected" in line:
            title = line
        elif line.startswith("- ") and title:
            lines[(title, line[2:].split(":")[0])] = line
    return lines


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


def test_every_verdict_prints_the_interval_it_used(rendered):
    for line in claim_lines(rendered).values():
        outcome = re.search(r"\*\*(beats|ties|loses to)\*\*", line)[1]
        low, high = (float(v) for v in re.search(r"\[([-+]\d+\.\d+), ([-+]\d+\.\d+)\]", line).groups())
        assert (outcome == "ties") == (low <= 0 <= high), line


def test_a_claim_naming_several_entries_is_refused():
    records = report.verified(few_shot.load_all(REPO / "leaderboard" / "results").records)
    vague = report.Claim("vague", "MAML against ProtoNet", {"method": "maml"}, {"method": "protonet"})
    with pytest.raises(report.ReportError, match="matches several entries"):
        report.claims(records, [vague])
    missing = report.Claim("missing", "x", {"method": "nothing"}, {"method": "relation"})
    with pytest.raises(report.ReportError, match="no setting has both entries"):
        report.claims(records, [missing])


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
