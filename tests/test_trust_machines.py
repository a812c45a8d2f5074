"""Verification across machines: a record reproduced on one CPU and differing on an episode on another
is "verified on 1 of 2 machines", and no machine's outcome can be added to verified.json by hand."""

import json

from tfmeta.records import trust
from tfmeta.records.frames.tables import trust_cell

INTEL = {"cpu": "Intel(R) Xeon(R)", "cpu_id": "GenuineIntel family 6 model 207", "simd": ["avx512f"]}
AMD = {"cpu": "AMD EPYC", "cpu_id": "AuthenticAMD family 25 model 1", "simd": ["avx2", "fma"]}
WEIGHTS = "ab" * 32


def _record(folder, name="r.json"):
    path = folder / name
    path.write_text(json.dumps({"weights": {"sha256": WEIGHTS}, "per_episode": [0.5, 1.0]}))
    return path, json.loads(path.read_text())


def _fresh(path):
    trust._cached.cache_clear()
    trust._digest.cache_clear()
    return trust.label(*path)


def test_a_record_reproduced_on_one_machine_and_differing_on_another(tmp_path):
    record = _record(tmp_path)
    trust.mark(record[0], 2, WEIGHTS, "test", AMD)
    assert _fresh(record) == "verified"
    trust.mark_differs(record[0], WEIGHTS, "test", INTEL, "episode 1 scores 0.9 ...")
    assert _fresh(record) == "verified on 1 of 2 machines"
    assert trust.is_verified(record[0], trust.load(tmp_path), record[1])
    entry = trust.load(tmp_path)["r.json"]
    assert [c["outcome"] for c in entry["checks"]] == ["reproduced", "differs"]
    assert entry["checks"][1]["detail"].startswith("episode 1")
    trust.mark(record[0], 2, WEIGHTS, "test", INTEL)  # that machine reproduces it later: its latest counts
    assert _fresh(record) == "verified"


def test_a_record_that_differs_everywhere_is_not_verified(tmp_path):
    record = _record(tmp_path)
    trust.mark_differs(record[0], WEIGHTS, "test", INTEL, "episode 0 ...")
    assert _fresh(record) == "differs on 1 machine"
    assert not trust.is_verified(record[0], trust.load(tmp_path), record[1])


def test_an_outcome_added_by_hand_breaks_the_signature(tmp_path):
    record = _record(tmp_path)
    trust.mark_differs(record[0], WEIGHTS, "test", INTEL, "episode 0 ...")
    table = trust.load(tmp_path)
    table["r.json"]["checks"].append({"outcome": "reproduced", "machine": AMD, "when": "2026-12-07T00:00:00"})
    table["r.json"]["verified"] = "2026-12-07T00:00:00"
    (tmp_path / trust.VERIFIED).write_text(json.dumps(table))
    assert _fresh(record) == "unverified"


def test_an_edited_record_starts_its_checks_again(tmp_path):
    record = _record(tmp_path)
    trust.mark(record[0], 2, WEIGHTS, "test", AMD)
    record[0].write_text(record[0].read_text() + " ")
    assert _fresh(record) == "unverified"
    trust.mark_differs(record[0], WEIGHTS, "test", INTEL, "episode 0 ...")
    assert [c["machine"] for c in trust.load(tmp_path)["r.json"]["checks"]] == [INTEL]


def test_a_line_from_before_checks_were_kept_counts_as_one_machine(tmp_path):
    record = _record(tmp_path)
    trust.mark(record[0], 2, WEIGHTS, "test", None)
    table = trust.load(tmp_path)
    legacy = {k: v for k, v in table["r.json"].items() if k not in ("checks", "signature")}
    legacy["signature"] = trust._sign("r.json", legacy, trust.key())
    (tmp_path / trust.VERIFIED).write_text(json.dumps({"r.json": legacy}))
    assert _fresh(record) == "verified"
    trust.mark_differs(record[0], WEIGHTS, "test", INTEL, "episode 0 ...")
    assert _fresh(record) == "verified on 1 of 2 machines"


def test_the_trust_cell_names_the_seed_verified_on_some_machines(tmp_path):
    first, second = _record(tmp_path, "s0.json"), _record(tmp_path, "s1.json")
    trust.mark(first[0], 2, WEIGHTS, "test", AMD)
    trust.mark_differs(first[0], WEIGHTS, "test", INTEL, "episode 0 ...")
    trust.mark(second[0], 2, WEIGHTS, "test", INTEL)
    _fresh(first)
    seeds = [
        {"seed": 0, "trust": trust.label(*first)},
        {"seed": 1, "trust": trust.label(*second)},
    ]
    assert trust_cell(first[0], {"seeds": seeds}) == "verified (seed 0 verified on 1 of 2 machines)"
    seeds[1]["trust"] = "unverified"
    expected = "1 of 2 seeds verified (seed 0 verified on 1 of 2 machines)"
    assert trust_cell(first[0], {"seeds": seeds}) == expected


def test_a_record_moved_aside_takes_its_verification_with_it(tmp_path):
    record, kept = _record(tmp_path), _record(tmp_path, "kept.json")
    trust.mark(record[0], 2, WEIGHTS, "test", AMD)
    trust.mark(kept[0], 2, WEIGHTS, "test", AMD)
    line = trust.load(tmp_path)["r.json"]
    moved = trust.move_aside(record[0], "superseded")
    assert moved == tmp_path / "superseded" / "r.json" and moved.is_file() and not record[0].exists()
    assert list(trust.load(tmp_path)) == ["kept.json"]  # the table names only the files it holds
    assert trust.load(tmp_path / "superseded") == {"r.json": line}  # the same line, signature and all
    trust._cached.cache_clear()
    trust._digest.cache_clear()
    assert trust.label(moved, record[1]) == "verified" and _fresh(kept) == "verified"
