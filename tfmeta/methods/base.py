"""The method contract every few-shot learner follows, built-in or external.

A method is a `keras.Model` whose `call(episode)` maps one episode to query logits, so that the harness
trains it with `model.fit` over a tf.data stream of episodes and evaluates it with `model.predict` over the
frozen test episodes. The episode layout is documented in `tfmeta.data.episodes`:

    episode["support_images"]: [way, shot, height, width, channels], the first index is the label;
    episode["query_images"]:   [way * query, height, width, channels];
    returned logits:           [way * query, way].

The default loss is cross-entropy on the logits and the default metric is accuracy; a method whose paper
trains differently (a relation score with mean-squared error, say) overrides `compile_arguments` or
`compute_loss`. Methods take only JSON-serialisable constructor arguments and return them from
`get_config`, so that the exact configuration goes into every result record.
"""

from __future__ import annotations

import keras


class FewShotMethod(keras.Model):
    """Base class of few-shot methods: episode in, query logits out.

    Subclasses set the class attribute `paper` (title and link) and implement `call`.
    """

    paper: str = ""

    def call(self, episode: dict, training: bool = False):
        raise NotImplementedError(f"{type(self).__name__} must implement call(episode, training)")

    def compile_arguments(self) -> dict:
        """The loss and metrics the harness compiles the method with."""
        return {
            "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def analyse(self, test_data, labels) -> dict:
        """Method-specific findings on the frozen test episodes, stored as the record's `analysis`.

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
