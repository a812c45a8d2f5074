"""Speed benchmark: where the time of a training episode and of an evaluation goes.

For each method at its training setting of a benchmark profile (the standard profile by default) it
times, as medians with the spread of several repeats:
- the input pipeline alone: episodes per second the tf.data stream produces with no model;
- a training step through the same `model.fit` path `tfmeta run` uses, fed by that pipeline;
- the same step with the pipeline bypassed (one episode, cached and repeated), so a stall shows where
  it is;
- the evaluation of every test setting of the benchmark: frozen episodes per second through the
  harness's own `evaluate` (batched where the method allows).
Warm-up calls absorb tracing first. It prints numbers and asserts nothing; `tfmeta speed --output`
writes them as a table (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from tfmeta.harness import planning


@dataclass(frozen=True)
class Timing:
    """Repeated measurements of one quantity: median, extremes and spread ((max - min) / median)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        return (max(self.values) - min(self.values)) / self.median if self.median else 0.0

    def text(self, unit: str, digits: int = 1) -> str:
        return (
            f"{self.median:.{digits}f} {unit} (min {min(self.values):.{digits}f}, "
            f"max {max(self.values):.{digits}f}, spread {100 * self.spread:.0f}%)"
        )


def repeat(measure: Callable[[], float], repeats: int) -> Timing:
    return Timing(tuple(measure() for _ in range(repeats)))


@dataclass(frozen=True)
class MethodSpeed:
    method: str
    setting: str  # the training setting, e.g. "20-way 1-shot 15-query"
    pipeline: Timing  # episodes per second, no model
    step: Timing  # ms per training episode, fed by the pipeline
    bypassed: Timing  # ms per training episode, one cached episode
    evaluation: dict[str, Timing | str]  # test setting -> episodes per second, or why not measured


def measure_method(
    method: str,
    spec: str = "omniglot",
    profile: str = "standard",
    episodes: int = 20,
    eval_episodes: int = 50,
    repeats: int = 5,
    data_dir: str | None = None,
    cache_dir: str | None = None,
    jit_compile: bool = False,
    setting: tuple[int, int, int] | None = None,
    evaluate: bool = True,
) -> MethodSpeed:
    """Times one method at the training setting of `profile` (see the module docstring).

    Args:
        setting: (way, shot, query) of the training episodes instead of the profile's.
        evaluate: also time the evaluation of every test setting.
    """
    steps = Steps.build(method, spec, profile, episodes, data_dir, cache_dir, jit_compile, setting)
    pipeline = repeat(steps.pipeline_rate, repeats)
    step = repeat(steps.fed, repeats)
    bypassed = repeat(steps.bypassed, repeats)
    rates = {}
    for test_setting in steps.plan.benchmark.data["settings"] if evaluate else ():
        name = f"{test_setting['way']}-way {test_setting['shot']}-shot"
        rates[name] = _evaluation_rate(
            steps.plan, steps.model, steps.sets, test_setting, eval_episodes, repeats
        )
    return MethodSpeed(method, steps.setting, pipeline, step, bypassed, rates)


@dataclass
class Steps:
    """A compiled, warmed-up method and its training stream: each call of `fed` (`bypassed`) times
    `episodes` training episodes from the stream (from one cached episode); `pipeline_rate` times the
    stream alone."""

    model: object
    plan: planning.Plan
    sets: dict
    setting: str
    stream: object
    cached: object
    episodes: int

    @classmethod
    def build(
        cls, method, spec, profile, episodes, data_dir=None, cache_dir=None, jit_compile=False, setting=None
    ):
        import tensorflow as tf

        from tfmeta import methods
        from tfmeta.data import load_class_sets, pipelines
        from tfmeta.harness import training

        the_plan = planning.plan(planning.RunOptions(spec, method, profile))
        method_class = methods.get(method)
        model = method_class(
            **the_plan.benchmark.method_defaults(method, method_class, the_plan.profile_name)
        )
        block = dict(the_plan.train)
        if setting:
            block.update(zip(("way", "shot", "query"), setting, strict=True))
        data = the_plan.benchmark.data
        sets = load_class_sets(data["dataset"], data["split"], the_plan.parts, data_dir, cache_dir)
        model.compile(
            optimizer=training.make_optimizer(the_plan.profile["optimizer"], model.meta_batch),
            jit_compile=jit_compile,
            **model.compile_arguments(),
        )
        stream = pipelines.training_dataset(
            sets[block["part"]], block["way"], block["shot"], block["query"], 0, model.uses_class_ids
        )
        first = next(iter(stream))
        # As the harness does before fit: a method whose weights exist only after a first call (the
        # optimization-based learners) would otherwise build its optimizer over no variables.
        training.build(model, [first])
        # Same options and prefetch depth as the real stream, so the two step timings differ only in where
        # the episodes come from.
        cached = tf.data.Dataset.from_tensors(first).repeat()
        cached = cached.prefetch(pipelines.PREFETCH).with_options(pipelines.options())
        name = f"{block['way']}-way {block['shot']}-shot {block['query']}-query"
        steps = cls(model, the_plan, sets, name, stream, cached, episodes)
        steps.fed()  # warm-up: tracing
        return steps

    def per_episode_ms(self, dataset) -> float:
        start = time.perf_counter()
        self.model.fit(dataset, epochs=1, steps_per_epoch=self.episodes, verbose=0)
        return 1000 * (time.perf_counter() - start) / self.episodes

    def fed(self) -> float:
        return self.per_episode_ms(self.stream)

    def bypassed(self) -> float:
        return self.per_episode_ms(self.cached)

    def pipeline_rate(self) -> float:
        start = time.perf_counter()
        for _ in self.stream.take(self.episodes * 5):
            pass
        return self.episodes * 5 / (time.perf_counter() - start)


# Seconds one evaluation repeat may take: a method slower than `eval_episodes` in that time (fine-tuning
# 100 steps per episode, say) is timed on fewer episodes, never under MIN_EVAL_EPISODES.
EVAL_SECONDS = 10.0
MIN_EVAL_EPISODES = 5


def _evaluation_rate(the_plan, model, sets, setting, count, repeats) -> Timing | str:
    from tfmeta.data.episodes import FrozenEpisodes
    from tfmeta.data.pipelines import frozen_dataset
    from tfmeta.harness import evaluation

    part = the_plan.benchmark.data["test"]["part"]

    def timer(n: int):
        key = dataclasses.replace(the_plan.test_key, way=setting["way"], shot=setting["shot"], count=n)
        episodes = FrozenEpisodes.sample(key, sets[part])  # the test setting's draw, not saved: timing only
        dataset, labels = frozen_dataset(episodes, sets[part]), episodes.query_labels()
        return lambda: n / evaluation.evaluate(model, dataset, labels, 0, episodes, sets[part]).seconds

    probe = timer(min(count, MIN_EVAL_EPISODES))
    try:
        probe()  # warm-up: tracing
    except ValueError as err:  # a learned head of another way, say
        head = re.search(r"built with way=(\d+)", str(err))
        return f"n/a ({head.group(1)}-way head)" if head else f"n/a ({str(err).splitlines()[-1][:80]})"
    affordable = int(EVAL_SECONDS * probe())
    rate = timer(max(MIN_EVAL_EPISODES, min(count, affordable)))
    rate()  # warm-up at this size
    return repeat(rate, repeats)


def lines(result: MethodSpeed) -> list[str]:
    """A method's timings as printable lines."""
    out = [
        f"{result.method} ({result.setting} training episodes)",
        f"  input pipeline alone:   {result.pipeline.text('episodes/s')}",
        f"  training step:          {result.step.text('ms/episode')}",
        f"  step, pipeline bypassed: {result.bypassed.text('ms/episode')}",
    ]
    for setting, rate in result.evaluation.items():
        shown = rate if isinstance(rate, str) else rate.text("episodes/s")
        out.append(f"  evaluation {setting}: {shown}")
    return out


def table(results: list[MethodSpeed]) -> str:
    """The markdown table of docs/performance.md: medians with spreads."""
    settings = sorted({s for r in results for s in r.evaluation}, key=lambda s: (int(s.split("-")[0]), s))
    head = ["method", "training setting", "pipeline (episodes/s)", "step (ms)", "step, no pipeline (ms)"]
    head += [f"eval {s} (episodes/s)" for s in settings]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(timing: Timing | str, digits: int = 1) -> str:
        if isinstance(timing, str):
            return "n/a"
        return f"{timing.median:.{digits}f} ± {100 * timing.spread:.0f}%"

    for r in results:
        cells = [r.method, r.setting, cell(r.pipeline, 0), cell(r.step), cell(r.bypassed)]
        cells += [cell(r.evaluation.get(s, "n/a")) for s in settings]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
