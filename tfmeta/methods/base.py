"""The method contract every few-shot learner follows, built-in or external.

A method is a `keras.Model` whose `call(episode)` maps one episode to query logits, so that the harness
trains it with `model.fit` over a tf.data stream of episodes and evaluates it with `model.predict` over the
frozen test episodes. The episode layout is documented in `tfmeta.data.episodes`:

    episode["support_images"]: [way, shot, height, width, channels], the first index is the label;
    episode["query_images"]:   [way * query, height, width, channels];
    returned logits:           [way * query, way].

Every hook the harness calls is declared on `FewShotMethod` below, with its default; a subclass overrides
only what its paper needs. A metric method, one that compares embeddings, starts from `EmbeddingMethod`
and writes only its `classify`. `check_declared` verifies an external class against this contract when
it is looked up, before any training starts.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import keras
from keras import ops

from tfmeta.core.contract import check_hooks


class FewShotMethod(keras.Model):
    """Base class of few-shot methods: episode in, query logits out.

    Methods take only JSON-serialisable constructor arguments and return them from `get_config`, so that
    the exact configuration goes into every result record.

    Class attributes a method may set (the harness reads them; defaults in brackets):
        paper: the paper's title and link, shown on the leaderboard [""].
        uses_class_ids: training episodes carry `episode["classes"]`, int32 [way], each label's index
            among the training classes, for methods that pre-train an ordinary classifier [False].
        scores_pairs: each logit is a same/different pair score, so the harness adds verification
            ROC-AUC and equal error rate to the record [False].
        analysis_config: constructor arguments that change only `analyse`, left out of the training's
            identity so that a new analysis reuses a finished training [()].
        episodes_per_step: test episodes `predict_step` answers per call; 1 for a method whose `call`
            cannot run under `keras.ops.vectorized_map` [8].
        meta_batch: training episodes per `train_step` (tasks per meta-update); the harness batches the
            training stream when it is above 1, and `train_step` gets every tensor with a leading task
            axis [1].
        embeds_images: at test time the logits depend on each image only through `embed(image)` (its
            features do not depend on the episode: inference-mode batch norm, no randomness), and
            `classify` turns features into logits. The harness then embeds each distinct image of the
            frozen test episodes once, however many episodes share it [False].

    Set by the harness:
        tuning_memo: a JSON file in the training's run folder, one per validation draw, where `tune` may
            keep its finished searches so that a stopped run resumes them [None].
    """

    paper: str = ""
    uses_class_ids: bool = False
    scores_pairs: bool = False
    analysis_config: tuple[str, ...] = ()
    episodes_per_step: int = 8
    meta_batch: int = 1
    embeds_images: bool = False
    tuning_memo: Path | None = None

    def call(self, episode: dict, training: bool = False):
        """Query logits `[way * query, way]` of one episode. Required."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(episode, training)")

    def compile_arguments(self) -> dict:
        """The loss and metrics the harness compiles the method with: cross-entropy on the logits and
        accuracy, unless the paper trains differently (a relation score with mean-squared error, say)."""
        return {
            "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def predict_step(self, data):
        """Query logits of one episode, or of a batch of `episodes_per_step` episodes (every tensor with a
        leading episode axis) stacked into `[episodes * way * query, way]`. The batch runs as one
        vectorised computation, so evaluation pays the per-step cost once per batch, and each episode is
        computed exactly as alone (inference mode: batch norm uses its moving statistics)."""
        episode = data[0] if isinstance(data, tuple | list) else data
        if len(episode["support_images"].shape) == 5:
            return self(episode, training=False)
        logits = keras.ops.vectorized_map(lambda one: self(one, training=False), episode)
        return keras.ops.reshape(logits, (-1, logits.shape[-1]))

    def embed(self, images):
        """Test-time features of images `[n, height, width, channels]`, for `embeds_images` methods."""
        raise NotImplementedError(f"{type(self).__name__} sets embeds_images but does not implement embed")

    def classify(self, support_features, query_features):
        """Query logits `[way * query, way]` from `embed` features: support `[way, shot, ...]` (the first
        index is the label), queries `[way * query, ...]`; for `embeds_images` methods."""
        raise NotImplementedError(f"{type(self).__name__} sets embeds_images but does not implement classify")

    @property
    def tunes(self) -> bool:
        """Whether `tune` has test-time hyperparameters to choose; the harness then calls it before
        testing. Defaults to False."""
        return False

    def tune(self, data, labels, *, predictions_only: bool = False) -> dict:
        """Chooses test-time hyperparameters (a fine-tuning learning rate, say) on validation episodes of
        the test setting; the harness never passes test classes.

        Args:
            data: the episodes as a tf.data dataset of (episode, query labels).
            labels: int [episodes, way * query], the query labels.
            predictions_only: choose only what the method's own predictions depend on, not what only its
                `analyse` uses (`tfmeta verify` re-evaluates predictions and nothing else).

        Returns:
            What was chosen and how, JSON-serialisable, stored as the record's `analysis.tuning`.
        """
        return {}

    def analyse(self, test_data, labels) -> dict:
        """Method-specific findings on the frozen test episodes, stored as the record's `analysis`; its
        blocks must be among those the record schema declares (`analysis` in
        `tfmeta/records/schemas/few_shot_record.schema.json`).

        Args:
            test_data: the test episodes as a tf.data dataset of (episode, query labels).
            labels: int [episodes, way * query], the query labels.

        Returns:
            JSON-serialisable data, or an empty dict (the default) for nothing to add.
        """
        return {}

    @staticmethod
    def split_episode(episode: dict):
        """Returns (support_images, query_images, way, shot) with way and shot as Python ints."""
        support = episode["support_images"]
        way, shot = int(support.shape[0]), int(support.shape[1])
        return support, episode["query_images"], way, shot


class EmbeddingMethod(FewShotMethod):
    """Base class of the metric methods: one network, `self.encoder` (a Keras layer the subclass sets in
    its constructor), embeds every image of an episode, and the subclass's `classify` compares the
    queries' features with the support's. As easyfsl's `FewShotClassifier`, the base class holds the
    embedding; a subclass writes only its comparison.

    `call` embeds support and query images in one pass, as the reference implementations do: batch-norm
    statistics during training come from the whole episode. At test time (`embeds_images`) the harness
    calls `embed` once per distinct image and `classify` per episode, which gives the same logits.
    """

    embeds_images = True

    def call(self, episode, training=False):
        return self.classify(*self.embed_episode(episode, training))

    def embed_episode(self, episode: dict, training: bool = False):
        """Features of one episode's images: (support `[way, shot, d]`, queries `[way * query, d]`)."""
        support, query, way, shot = self.split_episode(episode)
        images = ops.concatenate([ops.reshape(support, (way * shot, *support.shape[2:])), query], axis=0)
        features = self.encoder(images, training=training)
        return ops.reshape(features[: way * shot], (way, shot, -1)), features[way * shot :]

    def embed(self, images):
        return self.encoder(images, training=False)


HOOKS = ("call", "compile_arguments", "tune", "analyse", "embed", "classify")
ATTRIBUTES = {
    "paper": str,
    "uses_class_ids": bool,
    "scores_pairs": bool,
    "analysis_config": tuple,
    "tunes": bool,
}


def check_declared(cls: type) -> None:
    """Checks that a method class implements `call` and overrides hooks with callable signatures.

    Raises:
        tfmeta.core.contract.ContractError: naming the hook and the class.
    """
    check_hooks(cls, FewShotMethod, required=("call",), methods=HOOKS, attributes=ATTRIBUTES)
    if inspect.getattr_static(cls, "embeds_images") is True:
        check_hooks(cls, FewShotMethod, required=("embed", "classify"), methods=(), attributes={})


def check_logits(method: FewShotMethod, episode: dict, logits) -> None:
    """Checks that `call`'s answer to one episode has the contract's shape, `[way * query, way]`, so that a
    method that transposes or flattens its logits is named before training, not by Keras's loss mid-fit.

    Raises:
        tfmeta.core.contract.ContractError: naming the class, the shape it returned and the shape expected.
    """
    from tfmeta.core.contract import ContractError

    way, queries = int(episode["support_images"].shape[0]), int(episode["query_images"].shape[0])
    expected = (queries, way)
    shape = getattr(logits, "shape", None)
    returned = f"a {type(logits).__name__}" if shape is None else f"shape {tuple(shape)}"
    if shape is None or tuple(shape) != expected:
        cls = type(method)
        raise ContractError(
            f"{cls.__module__}.{cls.__qualname__}.call returned {returned} for a {way}-way episode with "
            f"{queries} queries; return logits [way * query, way] = {expected}: one row per query, one "
            "column per class"
        )
