"""Per-method training budgets in a profile (`methods:`), and the notes they put into records."""

from __future__ import annotations

import pytest

from tfmeta.config import specs
from tfmeta.harness import planning
from tfmeta.records import locations


def test_a_method_entry_replaces_only_its_training_blocks():
    finetune = planning.plan(planning.RunOptions(spec="omniglot", method="finetune"))
    protonet = planning.plan(planning.RunOptions(spec="omniglot", method="protonet"))
    assert finetune.train == {**protonet.train, "episodes": 3000}
    assert finetune.validation == protonet.validation
    assert finetune.profile["optimizer"] == protonet.profile["optimizer"]
    assert "Per-method budget" in finetune.profile["note"] and "note" not in protonet.profile
    assert "methods" not in protonet.profile  # so that training ids of other methods do not change
    assert planning.training_id(finetune, {}) != planning.training_id(protonet, {})


def test_a_method_entry_merges_into_the_optimizer():
    reptile = planning.plan(planning.RunOptions(spec="omniglot", method="reptile"))
    protonet = planning.plan(planning.RunOptions(spec="omniglot", method="protonet"))
    assert reptile.train["way"] == 5 and protonet.train["way"] == 20
    assert reptile.profile["optimizer"]["decay_every"] != protonet.profile["optimizer"]["decay_every"]


def test_method_entries_are_validated(tmp_path):
    text = (locations.benchmarks_dir() / "omniglot_lake.yaml").read_text()
    bad = text.replace(
        "    test_episodes: 20\n", "    test_episodes: 20\n    methods: {siamese: {epochs: 3}}\n", 1
    )
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(specs.SpecError, match="methods.siamese"):
        specs.load(path)
