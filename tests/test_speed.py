"""`tfmeta speed` runs end to end on real episodes and writes its page; it asserts numbers exist, never
how fast they are (timed tests flake; the numbers live in docs/performance.md)."""

from __future__ import annotations

import sys

from tfmeta import cli
from tfmeta.speed import fair_speed, optimizer_speed, performance
from tfmeta.speed.speed import Timing


def test_timing_median_and_spread():
    timing = Timing((10.0, 12.0, 11.0, 30.0, 9.0))
    assert timing.median == 11.0 and timing.spread == (30.0 - 9.0) / 11.0


def test_speed_command_writes_the_performance_page(tmp_path, data_dir, cache_dir, capsys):
    page = tmp_path / "performance.md"
    # Reptile too: its weights exist only after a first call, which the timing must make as training does.
    argv = ["speed", "--method", "protonet", "--method", "reptile", "--profile", "smoke", "--repeats", "2",
            "--episodes", "2",
            "--eval-episodes", "4", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
            "--output", str(page)]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "input pipeline alone" in printed and "evaluation 20-way 5-shot" in printed
    text = page.read_text()
    assert "| protonet | 5-way 1-shot 5-query |" in text and "`tfmeta speed" in text
    assert "| reptile | 5-way 1-shot" in text and "Not timed" not in text


def test_a_run_of_some_parts_replaces_their_sections_and_keeps_the_others(monkeypatch):
    class Args:
        repeats, episodes, eval_episodes, profile = 5, 40, 1000, "standard"

    monkeypatch.setattr(sys, "argv", ["tfmeta", "speed", "--pytorch"])
    old = performance.page([], [], None, Args())
    monkeypatch.setattr(sys, "argv", ["tfmeta", "speed", "--no-methods", "--pytorch"])
    new = performance.page(None, [], None, Args(), previous=old)
    methods, pytorch = (performance.sections_of(new)[name] for name in performance.SECTIONS[:2])
    assert methods == performance.sections_of(old)["Methods"]
    assert "`tfmeta speed --pytorch`" in "\n".join(methods)
    assert "`tfmeta speed --no-methods --pytorch`" in "\n".join(pytorch)
    assert "`tfmeta speed --pytorch`" not in "\n".join(pytorch)


def test_no_methods_needs_a_part_to_time(capsys):
    assert cli.main(["speed", "--no-methods"]) == 2
    assert "--no-methods times only" in capsys.readouterr().err


def test_lstm_optimizer_floor_counts_its_matrix_products():
    # layer 1: [2 + 20] x [80], layer 2: [40] x [80], output [20] x [1]; two FLOPs per multiply-add
    assert optimizer_speed.flop_per_parameter() == 2 * (22 * 80 + 40 * 80 + 20)


def test_optimizer_speed_table_reads_its_rows():
    row = {
        "model": "10k", "params": 9550, "adam_ms": Timing((5.0, 6.0, 5.5)),
        "lstm_ms": Timing((30.0, 31.0, 29.0)), "lstm_xla_ms": Timing((20.0, 21.0, 22.0)),
        "adam_apply_ms": Timing((0.2, 0.2, 0.2)), "lstm_apply_ms": Timing((2.0, 2.1, 1.9)),
        "products_ms": Timing((0.8, 0.9, 0.8)),
        "lstm_state_bytes": 320, "adam_state_bytes": 8,
        "floor_ms": 0.5, "gflops": 150.0,
    }  # fmt: skip
    assert (
        "| 10k | 9,550 | 5.5 ± 18% | 30.0 ± 7% | 21.0 ± 10% | 0.2 ± 0% | 2.0 ± 10% | 0.8 ± 12% | 0.50 | 4.0x "
        "| 320, 8 |" in optimizer_speed.table([row])
    )


def test_lstm_products_are_timed_at_the_steps_shapes():
    from tfmeta.optimizers.coordinatewise import CoordinatewiseLSTM

    timing = optimizer_speed.products_ms(CoordinatewiseLSTM(seed=0), 1000, steps=2, repeats=3)
    assert len(timing.values) == 3 and 0 < timing.median < 1000


def _row(tfmeta_ms, reference_ms):
    return fair_speed.Row("5-way 1-shot 15-query", Timing(tfmeta_ms), Timing(reference_ms), "tf", "torch")


def test_a_ratio_is_written_only_when_both_spreads_are_within_ten_percent():
    quiet, busy = _row((50.0, 51.0, 52.0), (60.0, 61.0, 62.0)), _row((50.0, 51.0, 52.0), (60.0, 90.0, 61.0))
    assert quiet.ratio == 51.0 / 61.0 and busy.ratio is None
    text = fair_speed.table([quiet, busy])
    assert "| 0.84 |" in text and "not written: a spread above 10% (the machine was busy)" in text
    assert "Settings: tfmeta: tf; reference: torch." in text


def test_both_sides_hold_the_same_episodes_from_one_seed(class_sets):
    indices = fair_speed.episode_indices(class_sets["train"], 5, 1, 5, 3)
    again = fair_speed.episode_indices(class_sets["train"], 5, 1, 5, 3)
    other = fair_speed.episode_indices(class_sets["train"], 5, 1, 5, 3, seed=1)
    digest = fair_speed.materialized(class_sets["train"], indices, 1)[1]
    assert digest == fair_speed.materialized(class_sets["train"], again, 1)[1]
    assert digest != fair_speed.materialized(class_sets["train"], other, 1)[1]


def test_tfmeta_against_itself_takes_turns_in_two_processes(data_dir, cache_dir):
    """The comparison's procedure on real episodes, with tfmeta on both sides (PyTorch is optional)."""
    (row,) = fair_speed.compare(2, 2, data_dir, cache_dir, reference="tfmeta", settings=((5, 1, 5),))
    assert row.setting == "5-way 1-shot 5-query" and len(row.tfmeta.values) == len(row.reference.values) == 2
    assert min(row.tfmeta.values + row.reference.values) > 0
    assert row.tfmeta_setting.startswith("TensorFlow") and row.reference_setting == row.tfmeta_setting
