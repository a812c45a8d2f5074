"""The same Conv-4 Prototypical Networks training step in plain PyTorch, as a reference for tfmeta's.

Needs PyTorch (`pip install "tfmeta[compare]"`), which tfmeta itself never imports. The step matches
`tfmeta.methods.protonet` with the harness's compile: Conv-4 (64 filters, batch norm, ReLU, max-pool),
squared Euclidean distances to the class means, cross-entropy, Adam 1e-3; episodes come from the same
sampler and the same real Omniglot images.
"""

from __future__ import annotations

import time

import numpy as np

from tfmeta.data.episodes import materialize, sample_indices


def conv4(torch):
    blocks = []
    for channels_in in (1, 64, 64, 64):
        blocks += [
            torch.nn.Conv2d(channels_in, 64, 3, padding=1),
            torch.nn.BatchNorm2d(64, momentum=0.01, eps=1e-3),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        ]
    return torch.nn.Sequential(*blocks, torch.nn.Flatten())


def stepper(class_set, way: int, shot: int, query: int, episodes: int = 20):
    """A warmed-up PyTorch ProtoNet whose every call times `episodes` training episodes (ms each)."""
    import torch

    torch.manual_seed(0)
    net = conv4(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    n_classes, n_examples = class_set.images.shape[:2]

    def episode():
        indices = sample_indices(rng, n_classes, n_examples, way, shot, query)
        data, labels = materialize(class_set, *indices, shot)
        support = torch.from_numpy(data["support_images"]).reshape(way * shot, 28, 28, 1).permute(0, 3, 1, 2)
        queries = torch.from_numpy(data["query_images"]).permute(0, 3, 1, 2)
        return support.contiguous(), queries.contiguous(), torch.from_numpy(labels.astype(np.int64))

    def train_step(support, queries, labels):
        features = net(torch.cat([support, queries]))
        prototypes = features[: way * shot].reshape(way, shot, -1).mean(1)
        logits = -(torch.cdist(features[way * shot :], prototypes) ** 2)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):  # warm-up
        train_step(*episode())

    def once() -> float:
        start = time.perf_counter()
        for _ in range(episodes):
            train_step(*episode())
        return 1000 * (time.perf_counter() - start) / episodes

    return once
