"""The leaderboard's tables from the committed records equal the snapshot taken before the layout moved."""

import json
from pathlib import Path

from tests.golden.render import render

SNAPSHOT = Path(__file__).parent / "golden" / "tables.json"


def test_tables_match_the_snapshot():
    expected = json.loads(SNAPSHOT.read_text())
    rendered = json.loads(json.dumps(render(), sort_keys=True))
    for section in expected:
        assert rendered[section] == expected[section], f"the {section} tables changed"
    assert rendered.keys() == expected.keys()
