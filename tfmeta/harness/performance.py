"""`tfmeta speed --output FILE`: the timings of `tfmeta speed` as one markdown page, a section per part.

Sections: the input pipeline, training step and evaluation of every method (`tfmeta.harness.speed`);
Conv-4 ProtoNet steps against plain PyTorch in alternation, PyTorch in a process of its own, where it is
installed (`tfmeta.harness.torch_reference`); the LSTM optimizer against Adam at three model sizes
(`tfmeta.harness.optimizer_speed`). Each section names the command that made it and the machine; a run
that times some parts replaces their sections and keeps the others.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
from datetime import UTC, datetime

from tfmeta.harness import optimizer_speed, provenance, speed
from tfmeta.harness.speed import Timing

COMPARED = ((5, 1, 15), (20, 1, 15))


def pytorch_rows(repeats: int, episodes: int, data_dir, cache_dir) -> list[dict] | str:
    """tfmeta and PyTorch ProtoNet steps measured in alternation, or why not."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return 'PyTorch is not installed; `pip install "tfmeta[compare]"` adds it.'
    from tfmeta.data import load_class_sets

    train = load_class_sets("omniglot", "vinyals", {"train"}, data_dir, cache_dir)["train"]
    rows = []
    for way, shot, query in COMPARED:
        ours = speed.Steps.build(
            "protonet", "omniglot", "standard", episodes, data_dir, cache_dir, setting=(way, shot, query)
        )
        pytorch = _PyTorchProcess(train, way, shot, query, episodes)
        mine, theirs = [], []
        for _ in range(repeats):  # alternate the two built steps, so both see the same state of the machine
            mine.append(ours.fed())
            theirs.append(pytorch())
        pytorch.close()
        rows.append({"setting": f"{way}-way {shot}-shot {query}-query", "tfmeta": Timing(tuple(mine)),
                     "pytorch": Timing(tuple(theirs))})  # fmt: skip
    return rows


def _pytorch_worker(connection, class_set, way: int, shot: int, query: int, episodes: int) -> None:
    from tfmeta.harness import torch_reference

    once = torch_reference.stepper(class_set, way, shot, query, episodes)
    connection.send("ready")
    while connection.recv():
        connection.send(once())


class _PyTorchProcess:
    """The PyTorch step, built once in a process of its own; each call times one repeat there. In
    TensorFlow's process PyTorch ran at half its speed (162 against 81 ms per 5-way episode on 2 cores,
    most likely TensorFlow's thread pools competing), which flattered tfmeta's ratio."""

    def __init__(self, *arguments):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_pytorch_worker, args=(child, *arguments), daemon=True)
        self.process.start()
        child.close()  # the child's end lives in the child now; so its exit reaches `recv` as EOFError
        self._receive()  # built and warmed up

    def __call__(self) -> float:
        self.connection.send(True)
        return self._receive()

    def _receive(self):
        try:
            return self.connection.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError(
                f"the PyTorch process ended (exit code {self.process.exitcode}); its traceback is above"
            ) from None

    def close(self) -> None:
        self.connection.send(False)
        self.process.join()


def pytorch_table(rows: list[dict] | str) -> str:
    if isinstance(rows, str):
        return rows
    lines = ["| training episode | tfmeta (ms) | PyTorch (ms) | tfmeta / PyTorch |", "|---|---|---|---|"]
    for r in rows:
        ratio = r["tfmeta"].median / r["pytorch"].median
        lines.append(
            f"| {r['setting']} | {r['tfmeta'].median:.1f} ± {100 * r['tfmeta'].spread:.0f}% | "
            f"{r['pytorch'].median:.1f} ± {100 * r['pytorch'].spread:.0f}% | {ratio:.2f} |"
        )
    return "\n".join(lines)


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
            "Each repeat alternates tfmeta's step (in this process) with PyTorch's (in a process of its own, "
            "so that neither library's thread pools slow the other's).",
            "",
            pytorch_table(compared),
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
