"""Inner-loop curves of the optimization-based learners, and standard optimizers run from their learned start.

Query accuracy and loss after each inner step 0..S of one episode: the learned update's behaviour within
and beyond its trained horizon and, for each optimizer of `curve_baselines` (SGD, momentum, NAG, Adam,
RMSProp, Adagrad, `tfmeta.optimizers.functional`), the same from the same meta-learned initialisation, with
learning rates tuned on validation episodes of the test setting. These fill the record's
`analysis.inner_curve`, `analysis.baseline_curves` and `analysis.paired_vs_baselines` (their schema is in
`tfmeta/records/schemas/few_shot_record.schema.json`).

The analysis receives a trained learner (`GradientBasedMethod`) and keeps evaluation outside it, as
learn2learn does: it reads the learner's `adapt`, `rule_trajectory`, `initial_params` and `query_logits`
through `tfmeta.methods.optimization.step_curves`. Its own configuration is the `CONFIG` keys of the
method config: the record keeps them there beside the learner's arguments, and they stay out of the
training's identity, so a new analysis reuses a finished training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfmeta.core.stats import mean_ci95, paired_comparison
from tfmeta.methods.optimization import step_curves
from tfmeta.methods.optimization.learner import GradientBasedMethod
from tfmeta.optimizers import functional
from tfmeta.records import store

CONFIG = ("curve_steps", "curve_episodes", "curve_baselines", "curve_start")


def config_keys(method_class: type) -> tuple[str, ...]:
    """The method-config keys the analysis reads for a method class: `CONFIG` for a gradient-based
    learner, none for any other method."""
    return CONFIG if issubclass(method_class, GradientBasedMethod) else ()


def without_analysis(method_class: type, config: dict) -> dict:
    """`config` without the keys the analysis reads: the method's constructor arguments."""
    keys = config_keys(method_class)
    return {key: value for key, value in config.items() if key not in keys}


def analysis_for(learner, config: dict) -> InnerCurves | None:
    """The inner-loop analysis of a trained method, configured by the `CONFIG` keys of its method config
    (`curve_baselines` by default the learner's `default_curve_baselines`); None for a method that is not
    a gradient-based learner.

    Raises:
        ValueError: for a configuration the analysis refuses, naming the key.
    """
    if not isinstance(learner, GradientBasedMethod):
        return None
    given = {key: config[key] for key in CONFIG if key in config}
    given.setdefault("curve_baselines", learner.default_curve_baselines)
    return InnerCurves(learner, **given)


@dataclass(frozen=True)
class Start:
    """Another trained learner's start: `params(way)` gives its initial parameters; `record` and
    `weights_sha256` say where it came from, `method` is its name in that record."""

    params: Callable[[int], list[tf.Tensor]]
    record: str
    method: str
    weights_sha256: str


class InnerCurves:
    """Tuning (`tune`) and curves (`analyse`) of one trained gradient-based learner.

    Args:
        learner: the trained `GradientBasedMethod`.
        curve_steps: the curves run to this many steps (beyond the trained horizon); 0 for twice the
            method's `test_inner_steps`. Defaults to 0.
        curve_episodes: test episodes the curves use. Defaults to 100.
        curve_baselines: standard optimizers run from the same start, name to learning rate (names of
            `tfmeta.optimizers.functional`, e.g. {"sgd": 0.4, "adam": 0.01}); a rate of None, or a list
            of names, means "tuned on validation episodes" (see `tune`). Defaults to None, none.
        curve_start: a record (its file name in the results folder, or a path) of another trained learner
            with the same parameter shapes, such as MAML's or fine-tuning's, whose trained weights give a
            second start: the method's own update and every baseline (tuned anew from that start) run
            from it too, so a learned update meets the standard optimizers from a start it did not learn
            as well as from its own. The harness loads it (`load_start`). Defaults to None.
    """

    def __init__(
        self,
        learner: GradientBasedMethod,
        curve_steps: int = 0,
        curve_episodes: int = 100,
        curve_baselines: dict | list | tuple | None = None,
        curve_start: str | None = None,
    ):
        if isinstance(curve_baselines, list | tuple):
            curve_baselines = dict.fromkeys(curve_baselines)
        if not isinstance(curve_baselines, dict | None):
            raise ValueError(f"curve_baselines must be a list of names or a mapping, not {curve_baselines!r}")
        for name in curve_baselines or {}:
            if name not in functional.DEFAULT_LEARNING_RATES:
                raise ValueError(
                    f"curve_baselines names unknown optimizer {name!r}; valid: "
                    f"{', '.join(functional.DEFAULT_LEARNING_RATES)}"
                )
        self.learner = learner
        self.curve_steps, self.curve_episodes = curve_steps, curve_episodes
        self.curve_baselines = dict(curve_baselines or {})
        self.curve_start = curve_start
        self.other_start: Start | None = None  # set by `use_start`
        self.tuned_rates: dict[str, float] = {}  # from the method's own start
        self.tuned_rates_other_start: dict[str, float] = {}  # from `curve_start`'s

    @property
    def config(self) -> dict:
        """The analysis's keys of the record's method config."""
        return {
            "curve_steps": self.curve_steps,
            "curve_episodes": self.curve_episodes,
            "curve_baselines": dict(self.curve_baselines),
            "curve_start": self.curve_start,
        }

    @property
    def steps(self) -> int:
        """Inner steps the curves run: `curve_steps`, or twice the method's `test_inner_steps`."""
        return self.curve_steps or 2 * self.learner.test_inner_steps

    # -- the second start ---------------------------------------------------------------------------------

    def load_start(self, load_trained: Callable) -> None:
        """Loads the `curve_start` record's trained method with `load_trained(record)` (which returns
        `tfmeta.harness.reproduction.Trained` or raises naming what is missing), if one is named."""
        if self.curve_start:
            trained = load_trained(self.curve_start)
            self.use_start(
                trained.model, trained.path.name, trained.record["method"]["name"], trained.weights_sha256
            )

    def use_start(self, other, record: str, method: str, weights_sha256: str) -> None:
        """Takes `other`'s trained start (its `initial_params`) as the second start of `tune` and `analyse`;
        `record`, `method` (its name there) and `weights_sha256` name where it came from.

        Raises:
            ValueError: when `other` has no learned start or its parameters do not have the method's
                shapes, naming both.
        """
        mine = self.learner
        if not isinstance(other, GradientBasedMethod):
            raise ValueError(
                f"curve_start {self.curve_start!r} is a {type(other).__name__}, which has no learned "
                "start; name a record of a gradient-based learner (MAML, Reptile, the meta-learner LSTM, "
                "fine-tuning)"
            )
        shapes = [tuple(p.shape) for p in mine.initial_params(mine.way)]
        theirs = [tuple(p.shape) for p in other.initial_params(mine.way)]
        if shapes != theirs:
            raise ValueError(
                f"curve_start {self.curve_start!r} is a {type(other).__name__} whose parameters have shapes "
                f"{theirs}; this {type(mine).__name__}'s have {shapes}: name a record of a learner built "
                "alike"
            )
        self.other_start = Start(other.initial_params, record, method, weights_sha256)

    # -- tuning -------------------------------------------------------------------------------------------

    @property
    def tunes(self) -> bool:
        """Whether some baseline's learning rate is to be tuned (the harness then calls `tune`)."""
        return bool(self.untuned())

    def untuned(self) -> list[str]:
        """The baselines whose learning rates `tune` chooses."""
        return sorted(name for name, rate in self.curve_baselines.items() if rate is None)

    def tune(self, data, labels, chosen: dict | None = None, memo: Path | None = None) -> dict:
        """Chooses each untuned baseline's learning rate from the method's own start, on validation
        episodes of the test setting (`step_curves.search_rate`); with a `curve_start`, every rate tuned
        from the own start again from that start.

        Args:
            data, labels: the validation episodes (the harness never passes test classes).
            chosen: what the method's own `tune` returned: a rate it searched (fine-tuning's, in
                `chosen["baselines"]`) is the search of the baseline of that name, not run again.
            memo: a JSON file of finished searches in the training's run folder: a search found there for
                the same optimizer, start and number of steps is taken from it, and each new one is kept
                there, so a run stopped during tuning (an hour for the meta-learner LSTM with two starts)
                resumes with the searches still to do.

        Returns:
            `chosen` with {"baselines": {name: {"grid": [...], "accuracy": [...], "learning_rate":
            chosen, "interior": bool}}}, and "curve_start_baselines" alike.
        """
        chosen = dict(chosen or {})
        searched = dict(chosen.get("baselines") or {})
        names = sorted(set(searched) | set(self.untuned()))
        chosen["baselines"] = self._tune_from(
            self.learner.initial_params, self.tuned_rates, data, labels, names, "own", memo, searched
        )
        other = self.other_start
        if other is not None:
            chosen["curve_start_baselines"] = self._tune_from(
                other.params, self.tuned_rates_other_start, data, labels, names, f"{other.method}'s", memo,
                memo_key=f"{other.method} {other.weights_sha256}",
            )  # fmt: skip
        return chosen

    def _tune_from(
        self, start, tuned: dict, data, labels, names, which: str, memo, searched=None, memo_key="own"
    ) -> dict:
        """`tune` of the optimizers `names` from one start (`which` names it in the progress lines,
        `memo_key` in the memo); the chosen rates go into `tuned`."""
        report, searches = {}, _read_memo(memo)
        steps = self.learner.test_inner_steps
        for name in names:
            key = f"{name} from {memo_key}, {steps} steps"
            if name in (searched or {}):
                report[name] = searched[name]
            elif key in searches:
                report[name] = searches[key]
                print(
                    f"  {name} from the {which} start: learning rate {report[name]['learning_rate']:g}, "
                    f"from {memo}",
                    flush=True,
                )
            else:
                report[name] = step_curves.search_rate(self.learner, name, data, labels, start, which)
                if memo is not None:
                    searches[key] = report[name]
                    store.replace_json(searches, memo)
            tuned[name] = report[name]["learning_rate"]
        return report

    def baseline_rate(self, name: str, tuned: dict | None = None) -> float:
        """The learning rate of baseline `name`: given, tuned (in `tuned`, by default the rates tuned from
        the method's own start), or (untuned) the optimizer's default."""
        rate = self.curve_baselines.get(name)
        if rate is None:
            rate = (self.tuned_rates if tuned is None else tuned).get(
                name, functional.DEFAULT_LEARNING_RATES[name]
            )
        return float(rate)

    # -- the curves ---------------------------------------------------------------------------------------

    def analyse(self, test_data, labels) -> dict:
        """Query accuracy and loss after each inner step 0..S on the first test episodes: the learned
        update's behaviour within and beyond its trained horizon (`inner_curve`) and, for each optimizer
        in `curve_baselines`, the same from the same meta-learned initialisation (`baseline_curves`), with
        a paired comparison at the trained horizon (`paired_vs_baselines`, differences method - baseline).
        With a `curve_start`, the same three from that start (`curve_start`, with the record it came from)."""
        analysis = self._curves_from(self.learner.initial_params, self.tuned_rates, test_data, labels)
        other = self.other_start
        if other is not None:
            analysis["curve_start"] = {
                "record": other.record,
                "method": other.method,
                "weights_sha256": other.weights_sha256,
                **self._curves_from(other.params, self.tuned_rates_other_start, test_data, labels),
            }
        return analysis

    def _curves_from(self, start, tuned: dict, test_data, labels) -> dict:
        """`analyse` from one start (`start(way)` gives the parameters), baselines at the rates `tuned`."""
        learner, steps, trained = self.learner, self.steps, self.learner.test_inner_steps
        print(
            f"Inner-loop curves: the method's update and {len(self.curve_baselines)} optimizers, "
            f"{steps} steps, {self.curve_episodes} test episodes",
            flush=True,
        )
        # The method's own update, then each optimizer at its rate.
        rules = {"inner_curve": (learner.adapt, ())}
        for name in sorted(self.curve_baselines):
            rules[name] = (step_curves.rule_trajectory(learner, name), (self.baseline_rate(name, tuned),))
        runs = {}
        for name, (trajectory, rate) in rules.items():
            began = time.monotonic()
            curve = step_curves.curve_function(learner, trajectory, steps, start)
            runs[name] = step_curves.run_curves(curve, test_data, labels, *rate, episodes=self.curve_episodes)
            accuracy = runs[name][0][:, min(trained, steps)].mean()
            print(
                f"  {'own update' if name == 'inner_curve' else name}: {accuracy:.2%} after "
                f"{trained} steps ({time.monotonic() - began:.0f} s)",
                flush=True,
            )
        summaries = {name: curve_summary(*run, trained) for name, run in runs.items()}
        analysis = {"inner_curve": summaries.pop("inner_curve")}
        if summaries:
            analysis["baseline_curves"] = {
                name: {
                    **summary,
                    "learning_rate": self.baseline_rate(name, tuned),
                    "tuned": self.curve_baselines[name] is None and name in tuned,
                }
                for name, summary in summaries.items()
            }
            mine = analysis["inner_curve"]["accuracy_at_trained_steps"]
            analysis["paired_vs_baselines"] = {
                name: vars(paired_comparison(mine, summary["accuracy_at_trained_steps"]))
                for name, summary in summaries.items()
            }
        return analysis


def _read_memo(memo: Path | None) -> dict:
    """The memo's searches, read with the records' bounds; a memo is only a shortcut, so a missing or
    unreadable one gives none (they are searched again)."""
    if memo is None:
        return {}
    try:
        return store.parse(store.read_bytes(memo), memo.name)
    except (OSError, store.RecordError):
        return {}


def curve_summary(accuracy: np.ndarray, loss: np.ndarray, trained_steps: int) -> dict:
    """Mean and 95% CI per inner step of per-episode curves `[episodes, steps + 1]`."""
    n = accuracy.shape[0]

    def ci(values):  # the sample std (ddof = 1), as every confidence interval of tfmeta
        return [mean_ci95(column)[1] for column in values.T.tolist()]

    return {
        "steps": list(range(accuracy.shape[1])),
        "trained_steps": int(trained_steps),
        "episodes": int(n),
        "accuracy_mean": [float(x) for x in accuracy.mean(axis=0)],
        "accuracy_ci95": ci(accuracy),
        "loss_mean": [float(x) for x in loss.mean(axis=0)],
        "loss_ci95": ci(loss),
        # Per-episode accuracies at the trained horizon, for paired tests between curves of one record.
        "accuracy_at_trained_steps": [
            float(x) for x in accuracy[:, min(trained_steps, accuracy.shape[1] - 1)]
        ],
    }
