"""`tfmeta speed --output FILE`: the timings of `tfmeta speed` as one markdown page, a section per part.

Sections: the input pipeline, training step and evaluation of every method (`tfmeta.speed.speed`);
Conv-4 ProtoNet steps against plain PyTorch where it is installed (`tfmeta.speed.fair_speed`); the LSTM
optimizer against Adam at three model sizes (`tfmeta.speed.optimizer_speed`). Each section names the
command that made it and the machine; a run that times some parts replaces their sections and keeps the
others.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from tfmeta.harness import provenance
from tfmeta.speed import fair_speed, optimizer_speed, speed

SECTIONS = ("Methods", "Conv-4 ProtoNet against plain PyTorch", "The LSTM optimizer against Adam")
HEADER = (
    "# Performance\n\nEach section names the `tfmeta speed` command and the machine that made it; compare "
    "figures within a section (one run), not across sections. Timings on a shared machine swing."
)


def page(
    methods: list[speed.MethodSpeed] | None,
    compared,
    optimizers: list[dict] | None,
    args,
    failed: dict | None = None,
    previous: str | None = None,
) -> str:
    """The markdown page of a `tfmeta speed` run: a section for each part it timed (None: not timed), and
    the other sections of `previous` (the page it replaces) as they were, so that one part can be timed
    again alone. `failed` maps a part that could not be timed to its error, listed under the methods."""
    command = provenance.command_line() or "tfmeta speed"
    made = (
        f"Made by `{command}` on {datetime.now(UTC).date()}: {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}. Each figure "
        f"is the median of {args.repeats} repeats, ± the spread (max - min) / median."
    )
    sections = sections_of(previous) if previous else {}
    if methods is not None:
        sections["Methods"] = [
            "## Methods (profile `" + args.profile + "`, each at its own training setting)",
            "",
            made + f" Training steps are {args.episodes} episodes per repeat after a warm-up, "
            f"evaluations {args.eval_episodes} frozen episodes of each test setting (15 queries per class; "
            f"fewer, at least {speed.MIN_EVAL_EPISODES}, for a method that would take over "
            f"{speed.EVAL_SECONDS:.0f} s).",
            "",
            "Pipeline: episodes per second the tf.data stream produces with no model. Step: milliseconds "
            "per training episode through `model.fit`, as `tfmeta run` trains. Step, no pipeline: the same "
            "with one cached episode repeated, so the difference is the pipeline's share.",
            "",
            speed.table(methods),
            "",
        ]
        if failed:
            sections["Methods"] += [
                "Not timed (the run failed on them): " + "; ".join(f"{m}: {e}" for m, e in failed.items()),
                "",
            ]
    if compared is not None:
        sections["Conv-4 ProtoNet against plain PyTorch"] = [
            "## Conv-4 ProtoNet against plain PyTorch",
            "",
            made,
            "",
            "Each side runs in a process of its own and they take turns, so neither library's thread pools "
            "slow the other's; both train on the same episodes (checked by hash), turned into arrays before "
            "any timing, so neither table counts its input pipeline. PyTorch runs at the fastest of the "
            "settings its CPU guide recommends trying. A ratio is written only when both spreads are within "
            f"{100 * fair_speed.MAX_SPREAD:.0f}%.",
            "",
            fair_speed.table(compared),
            "",
        ]
    if optimizers is not None:
        sections["The LSTM optimizer against Adam"] = [
            "## The LSTM optimizer against Adam",
            "",
            made,
            "",
            "MLPs on real Omniglot images (batch 128) trained by `model.fit` with each optimizer (32 steps "
            "per `fit` call), and each optimizer's own step (`optimizer.apply` on one batch's gradients, in "
            "a `tf.function`: no forward or backward pass, no Keras overhead), which the floor bounds. "
            "Floor: "
            f"the LSTM's matrix products, {optimizer_speed.flop_per_parameter():,} FLOPs per parameter and "
            f"step, at the {optimizers[0]['gflops']:.0f} GFLOP/s this machine reached in a 2048x2048 float32 "
            "matrix product in the same run. The LSTM's products alone: those products timed by themselves "
            "at the step's shapes (compiled by XLA, as in the step); the rest of the step is the gate "
            "functions (five tanh per unit and layer) and the states' reads and writes.",
            "",
            optimizer_speed.table(optimizers),
            "",
        ]
    parts = [HEADER, ""]
    for name in SECTIONS:
        parts += sections.get(name, [])
    return "\n".join(parts).rstrip("\n")


def sections_of(text: str) -> dict[str, list[str]]:
    """The `## ` sections of a page, keyed by heading (up to its first " ("), each its lines."""
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].split(" (")[0]
            sections[current] = []
        if current is not None:
            sections[current].append(line)
    return {name: lines for name, lines in sections.items() if name in SECTIONS}
