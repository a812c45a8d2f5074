"""Test-time work of a run: the test set, test-time tuning on validation classes, and evaluation."""

from __future__ import annotations

import dataclasses
import inspect
import time
import weakref
from pathlib import Path

import numpy as np

from tfmeta.data.episodes import FrozenEpisodes, frozen_episodes
from tfmeta.data.pipelines import frozen_dataset
from tfmeta.harness.planning import Plan


def load_test_set(the_plan: Plan, class_sets: dict, data_dir: str | None):
    """The test set (frozen episodes, or Lake's runs where the spec says `source: lake_runs`) and its
    tf.data dataset."""
    if the_plan.tests_on_lake_runs:
        from tfmeta.data.omniglot import lake_runs

        runs = lake_runs.load(data_dir)
        return runs, runs.dataset()
    part = the_plan.benchmark.data["test"]["part"]
    episodes = frozen_episodes(the_plan.test_key, class_sets[part], the_plan.benchmark.episodes_dir)
    return episodes, frozen_dataset(episodes, class_sets[part])


def load_validation_set(the_plan: Plan, class_sets: dict):
    """The frozen validation episodes and their tf.data dataset."""
    class_set = class_sets[the_plan.validation["part"]]
    episodes = frozen_episodes(the_plan.validation_key, class_set, the_plan.benchmark.episodes_dir)
    return episodes, frozen_dataset(episodes, class_set)


def tune(
    the_plan: Plan,
    method,
    class_sets: dict,
    predictions_only: bool = False,
    run_dir: Path | None = None,
    curves=None,
) -> dict:
    """Lets the method choose its test-time hyperparameters (`FewShotMethod.tune`), then the inner-loop
    analysis `curves` (`tfmeta.harness.inner_curves.InnerCurves`, if given) its baselines' learning rates,
    on frozen episodes of the test setting drawn from the validation classes; never on the test classes:
    where the spec validates on its test part (Lake's runs), nothing is tuned. With `predictions_only`,
    only what the method's predictions depend on (for re-evaluation). With the training's `run_dir`, a
    tuning memo there keeps the finished searches (the method's `tuning_memo`, the analysis's `memo`), so
    a stopped run resumes its tuning."""
    tunes = method.tunes or (curves is not None and curves.tunes)
    if not tunes:
        return {}
    validation, test = the_plan.validation, the_plan.benchmark.data["test"]
    if validation["part"] == test["part"]:
        return {"skipped": f"validation part {validation['part']!r} is the test part; defaults used"}
    # The validation episodes' draw, in the test setting's way and shot.
    key = dataclasses.replace(
        the_plan.validation_key, way=the_plan.setting["way"], shot=the_plan.setting["shot"]
    )
    class_set = class_sets[validation["part"]]
    episodes = frozen_episodes(key, class_set, the_plan.benchmark.episodes_dir)
    which = (
        "the test-time hyperparameters the predictions use"
        if predictions_only
        else "test-time hyperparameters"
    )
    print(f"Tuning {which} on {len(episodes)} validation episodes")
    data, labels = frozen_dataset(episodes, class_set), episodes.query_labels()
    memo = None
    if run_dir is not None:
        draw = episodes.hash.removeprefix("sha256:")[:16]
        memo = Path(run_dir) / f"tuning-{key.way}w{key.shot}s-{draw}.json"
        method.tuning_memo = memo
    chosen = {}
    # A method written before `predictions_only` existed tunes everything, as it did.
    if method.tunes and predictions_only and "predictions_only" in inspect.signature(method.tune).parameters:
        chosen = method.tune(data, labels, predictions_only=True)
    elif method.tunes:
        chosen = method.tune(data, labels)
    if curves is not None and not predictions_only:
        chosen = curves.tune(data, labels, chosen, memo)
    return {"episodes": len(episodes), "episodes_hash": episodes.hash, **chosen}


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per-episode query accuracies on the test set, the seconds they took, and the logits
    `[episodes, queries, way]`."""

    per_episode: list[float]
    seconds: float
    logits: np.ndarray


def evaluate(model, dataset, labels: np.ndarray, verbose, episodes=None, class_set=None) -> Evaluation:
    """Evaluates `model` on test episodes.

    Args:
        dataset: the test episodes as a tf.data dataset of (episode, query labels), in order; answered
            `model.episodes_per_step` episodes per step.
        labels: int [episodes, queries], the query labels.
        episodes, class_set: the frozen episodes behind `dataset` and their classes; with them, a method
            that `embeds_images` is evaluated by embedding each distinct image once (`by_image`).
    """
    start = time.perf_counter()
    if model.embeds_images and isinstance(episodes, FrozenEpisodes) and class_set is not None:
        logits = by_image(model, episodes, class_set)
    else:
        batched = dataset.batch(model.episodes_per_step) if model.episodes_per_step > 1 else dataset
        # Keras traces predict once and, on a second input structure, generalises it to unknown ranks; a
        # fresh trace for each new structure keeps the episode axis static.
        structure = str(batched.element_spec)
        if getattr(model, "_evaluated_structure", None) != structure:
            model.predict_function = None
            model._evaluated_structure = structure
        logits = model.predict(batched, verbose=verbose)
    seconds = time.perf_counter() - start
    logits = logits.reshape(*labels.shape, -1)
    predictions = np.argmax(logits, axis=-1)
    return Evaluation([float(a) for a in (predictions == labels).mean(axis=1)], seconds, logits)


_BY_IMAGE = weakref.WeakKeyDictionary()


def _by_image_functions(model):
    """The traced `embed` and batched `classify` of a model, kept across evaluations (tracing costs
    seconds)."""
    import tensorflow as tf

    if model not in _BY_IMAGE:
        embed = tf.function(lambda images: model.embed(tf.cast(images, tf.float32) / 255.0))
        classify = tf.function(
            lambda support, query: tf.vectorized_map(lambda pair: model.classify(*pair), (support, query))
        )
        _BY_IMAGE[model] = (embed, classify)
    return _BY_IMAGE[model]


def by_image(model, episodes: FrozenEpisodes, class_set, batch: int = 1024, chunk: int = 100) -> np.ndarray:
    """Logits `[episodes * queries, way]` of an `embeds_images` method: every distinct image the episodes
    use is embedded once, then each episode's features are gathered in its order (support class-major,
    queries permuted as the episode's `orders`) and classified, `chunk` episodes at a time."""

    n_examples = class_set.images.shape[1]
    shot, way = episodes.key.shot, episodes.key.way
    keys = (
        episodes.classes[:, :, None].astype(np.int64) * n_examples + episodes.examples
    )  # [E, way, shot + q]
    distinct, index = np.unique(keys, return_inverse=True)
    index = index.reshape(keys.shape)
    flat = class_set.images.reshape(-1, *class_set.images.shape[2:])
    embed, classify = _by_image_functions(model)
    features = np.concatenate(
        [embed(flat[distinct[i : i + batch]]).numpy() for i in range(0, len(distinct), batch)]
    )
    query = index[:, :, shot:].reshape(len(episodes), -1)
    query = np.take_along_axis(query, episodes.orders.astype(np.int64), axis=1)  # the episode's query order
    support = index[:, :, :shot]

    logits = [
        classify(features[support[i : i + chunk]], features[query[i : i + chunk]]).numpy()
        for i in range(0, len(episodes), chunk)
    ]
    return np.concatenate(logits).reshape(-1, way)
