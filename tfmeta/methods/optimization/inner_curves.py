"""Inner-loop curves of the optimization-based learners, and standard optimizers run from their learned start.

Query accuracy and loss after each inner step 0..S of one episode: the learned update's behaviour within
and beyond its trained horizon and, for each optimizer of `curve_baselines` (SGD, momentum, NAG, Adam,
RMSProp, Adagrad, `tfmeta.optimizers.functional`), the same from the same meta-learned initialisation, with
learning rates tuned on validation episodes of the test setting. These fill the record's
`analysis.inner_curve`, `analysis.baseline_curves` and `analysis.paired_vs_baselines` (their schema is in
`tfmeta/records/schemas/few_shot_record.schema.json`).

`InnerCurves` is a mixin of `GradientBasedMethod`: it uses the learner's `adapt`, `rule_trajectory`,
`flat_support`, `initial_params` and `query_logits`.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import tensorflow as tf

from tfmeta.optimizers import functional
from tfmeta.optimizers import grid as grid_search
from tfmeta.records import store
from tfmeta.records.stats import mean_ci95, paired_comparison

# Where the search for a standard optimizer's rate starts, on validation episodes (half decades).
LEARNING_RATE_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


class InnerCurves:
    """Tuning (`tune`) and inner-loop analysis (`analyse`) hooks of the optimization-based learners.

    `tuning_memo` (`FewShotMethod`'s, set by the harness) keeps each finished rate search, so a run
    stopped during tuning (an hour for the meta-learner LSTM with two starts) resumes with the searches
    still to do.
    """

    @property
    def tunes(self) -> bool:
        """Whether `tune` has learning rates to choose (the harness then calls it before testing)."""
        return bool(self.untuned())

    def untuned(self, predictions_only: bool = False) -> list[str]:
        """The standard optimizers whose learning rates `tune` chooses; with `predictions_only`, those the
        method's own predictions use (none: the baselines only draw curves beside the learned update)."""
        if predictions_only:
            return []
        return sorted(name for name, rate in self.curve_baselines.items() if rate is None)

    def tune(self, data, labels, *, predictions_only: bool = False) -> dict:
        """Chooses each untuned baseline optimizer's learning rate: the rate with the best mean query
        accuracy after `test_inner_steps` steps from the meta-learned initialisation, on validation
        episodes of the test setting (the harness never passes test classes), searched from
        `LEARNING_RATE_GRID` outwards and inwards until the winner is interior
        (`tfmeta.optimizers.grid.search`); with a `curve_start`, again from that start. With
        `predictions_only`, only the rates of `untuned(predictions_only=True)`, from the method's own start.

        Returns:
            {"baselines": {name: {"grid": [...], "accuracy": [...], "learning_rate": chosen,
             "interior": bool}}}, and "curve_start_baselines" alike.
        """
        names = self.untuned(predictions_only)
        report = {
            "baselines": self.tune_from(self.initial_params, self.tuned_rates, data, labels, names, "own")
        }
        if self.other_start is not None and not predictions_only:
            report["curve_start_baselines"] = self.tune_from(
                self.other_start.params,
                self.tuned_rates_other_start,
                data,
                labels,
                self.untuned(),
                f"{self.other_start.method}'s",
                memo_key=f"{self.other_start.method} {self.other_start.weights_sha256}",
            )
        return report

    def tune_from(
        self, start, tuned: dict, data, labels, names: list[str], which: str, memo_key: str = "own"
    ) -> dict:
        """`tune` of the optimizers `names` from one start (`start(way)` gives the parameters, `which`
        names it in the progress lines, `memo_key` in `tuning_memo`); the chosen rates go into `tuned`. A
        search in `tuning_memo` for the same optimizer, start and number of steps is taken from there
        instead of run again."""
        report = {}
        memo = self._read_tuning_memo()
        for name in names:
            began = time.monotonic()
            key = f"{name} from {memo_key}, {self.test_inner_steps} steps"
            if key in memo:
                entry = report[name] = memo[key]
                tuned[name] = entry["learning_rate"]
                print(
                    f"  {name} from the {which} start: learning rate {tuned[name]:g}, "
                    f"from {self.tuning_memo}",
                    flush=True,
                )
                continue
            curve = self.curve_function(self.rule_curve(name), self.test_inner_steps, start)

            def negative_accuracy(rate, curve=curve):
                return -float(self.run_curves(curve, data, labels, rate)[0][:, -1].mean())

            found = grid_search.search(negative_accuracy, LEARNING_RATE_GRID)
            tuned[name] = found["winner"]
            entry = report[name] = {
                "grid": found["grid"],
                "accuracy": [-score for score in found["scores"]],
                "learning_rate": found["winner"],
                "interior": found["interior"],
            }
            print(
                f"  {name} from the {which} start: learning rate {entry['learning_rate']:g}, "
                f"{entry['accuracy'][entry['grid'].index(entry['learning_rate'])]:.1%} on validation, "
                f"{len(entry['grid'])} rates tried"
                f"{'' if entry['interior'] else ' (winner not interior: search limit reached)'}, "
                f"{time.monotonic() - began:.0f} s",
                flush=True,
            )
            if self.tuning_memo is not None:
                memo[key] = entry
                store.replace_json(memo, self.tuning_memo)
        return report

    def _read_tuning_memo(self) -> dict:
        """The memo's searches, read with the records' bounds; a memo is only a shortcut, so a missing or
        unreadable one gives none (they are searched again)."""
        if self.tuning_memo is None:
            return {}
        try:
            return store.parse(store.read_bytes(self.tuning_memo), self.tuning_memo.name)
        except (OSError, store.RecordError):
            return {}

    def baseline_rate(self, name: str, tuned: dict | None = None) -> float:
        """The learning rate of baseline `name`: given, tuned (in `tuned`, by default the rates tuned from
        the method's own start), or (untuned) the optimizer's default."""
        rate = self.curve_baselines.get(name)
        if rate is None:
            rate = (self.tuned_rates if tuned is None else tuned).get(
                name, functional.DEFAULT_LEARNING_RATES[name]
            )
        return float(rate)

    def rule_curve(self, name: str):
        """A trajectory function `(params, images, labels, steps, learning_rate)` of a standard optimizer."""

        def trajectory(params, images, labels, steps, learning_rate):
            return self.rule_trajectory(functional.get(name, learning_rate), params, images, labels, steps)

        return trajectory

    def curve_function(self, trajectory, steps: int, start=None):
        """`inner_curve` along `trajectory` from `start` (the method's own by default) as one traced
        function of (episode, labels, *arguments)."""
        return tf.function(
            functools.partial(self.inner_curve, trajectory=trajectory, steps=steps, start=start)
        )

    def run_curves(self, curve, data, labels, *arguments, episodes: int | None = None):
        """Per-episode query accuracies and losses `[episodes, steps + 1]` of a `curve_function`; the
        `arguments` (a learning rate) are passed to its trajectory as float32 tensors."""
        arguments = [tf.constant(a, tf.float32) for a in arguments]
        accuracy, loss = [], []
        for index, (episode, _) in enumerate(data.take(episodes or -1)):
            episode_accuracy, episode_loss = curve(episode, tf.constant(labels[index], tf.int32), *arguments)
            accuracy.append(episode_accuracy.numpy())
            loss.append(episode_loss.numpy())
        return np.array(accuracy), np.array(loss)

    def analyse(self, test_data, labels) -> dict:
        """Query accuracy and loss after each inner step 0..S on the first test episodes: the learned
        update's behaviour within and beyond its trained horizon (`inner_curve`) and, for each optimizer
        in `curve_baselines`, the same from the same meta-learned initialisation (`baseline_curves`), with
        a paired comparison at the trained horizon (`paired_vs_baselines`, differences method - baseline).
        With a `curve_start`, the same three from that start (`curve_start`, with the record it came from)."""
        analysis = self.curves_from(self.initial_params, self.tuned_rates, test_data, labels)
        other = self.other_start
        if other is not None:
            analysis["curve_start"] = {
                "record": other.record,
                "method": other.method,
                "weights_sha256": other.weights_sha256,
                **self.curves_from(other.params, self.tuned_rates_other_start, test_data, labels),
            }
        return analysis

    def curves_from(self, start, tuned: dict, test_data, labels) -> dict:
        """`analyse` from one start (`start(way)` gives the parameters), baselines at the rates `tuned`."""
        steps = self.curve_steps or 2 * self.test_inner_steps
        print(
            f"Inner-loop curves: the method's update and {len(self.curve_baselines)} optimizers, "
            f"{steps} steps, {self.curve_episodes} test episodes",
            flush=True,
        )
        rules = {"inner_curve": (self.adapt, ())}  # the method's own update, then each optimizer at its rate
        for name in sorted(self.curve_baselines):
            rules[name] = (self.rule_curve(name), (self.baseline_rate(name, tuned),))
        runs = {}
        for name, (trajectory, rate) in rules.items():
            began = time.monotonic()
            curve = self.curve_function(trajectory, steps, start)
            runs[name] = self.run_curves(curve, test_data, labels, *rate, episodes=self.curve_episodes)
            accuracy = runs[name][0][:, min(self.test_inner_steps, steps)].mean()
            print(
                f"  {'own update' if name == 'inner_curve' else name}: {accuracy:.2%} after "
                f"{self.test_inner_steps} steps ({time.monotonic() - began:.0f} s)",
                flush=True,
            )
        summaries = {name: curve_summary(*run, self.test_inner_steps) for name, run in runs.items()}
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

    def inner_curve(self, episode, query_labels, *arguments, trajectory=None, steps=None, start=None):
        """Query accuracies and losses `[S + 1]` of one episode after 0..S inner steps of `trajectory`
        (`adapt` by default, called with the extra `arguments`) from `start(way)` (`initial_params` by
        default); S is `steps`, by default `curve_steps` or twice `test_inner_steps`."""
        steps = steps or self.curve_steps or 2 * self.test_inner_steps
        images, labels, query, way = self.flat_support(episode)
        params = (start or self.initial_params)(way)
        trajectory = (trajectory or self.adapt)(params, images, labels, steps, *arguments)
        logits = tf.stack(self.query_logits(trajectory, query, images))  # [S + 1, queries, way]
        query_labels = tf.cast(query_labels, tf.int32)
        hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), query_labels[None])
        per_step_labels = tf.broadcast_to(query_labels[None], tf.shape(hits))
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=per_step_labels, logits=logits)
        return tf.reduce_mean(tf.cast(hits, tf.float32), -1), tf.reduce_mean(losses, -1)


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
