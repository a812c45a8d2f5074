"""The same Conv-4 Prototypical Networks training step in plain PyTorch, as a reference for tfmeta's.

Needs PyTorch (`pip install "tfmeta[compare]"`), which tfmeta itself never imports. The step matches
`tfmeta.methods.protonet` with the harness's compile: Conv-4 (64 filters, batch norm, ReLU, max-pool),
squared Euclidean distances to the class means, cross-entropy, Adam 1e-3. It trains on the episodes it is
given (`tfmeta.speed.fair_speed` gives both sides the same ones), turned into tensors before any timing,
at the fastest of the settings PyTorch's CPU performance guide recommends trying: the intra-op thread
count (its default, or one per core) and the memory format (contiguous or channels-last).
"""

from __future__ import annotations

import itertools
import os
import time

import numpy as np

# Episodes each candidate setting trains on while the fastest is chosen, after its own warm-up.
TRIAL_EPISODES = 10


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


def _stepper(torch, episodes: list[tuple[dict, np.ndarray]], threads: int, channels_last: bool):
    """A warmed-up ProtoNet at one setting whose every call times one pass over `episodes` (ms each)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    net = conv4(torch).to(memory_format=memory_format)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    tensors = []
    for data, labels in episodes:
        way, shot = data["support_images"].shape[:2]
        support = torch.from_numpy(data["support_images"]).reshape(way * shot, 28, 28, 1)
        queries = torch.from_numpy(data["query_images"])
        images = torch.cat([support, queries]).permute(0, 3, 1, 2).contiguous(memory_format=memory_format)
        tensors.append((images, torch.from_numpy(labels.astype(np.int64)), way, shot))

    def train_step(images, labels, way, shot):
        features = net(images)
        prototypes = features[: way * shot].reshape(way, shot, -1).mean(1)
        logits = -(torch.cdist(features[way * shot :], prototypes) ** 2)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for step in tensors[:3]:  # warm-up
        train_step(*step)

    def once(count: int = len(tensors)) -> float:
        start = time.perf_counter()
        for step in itertools.islice(itertools.cycle(tensors), count):
            train_step(*step)
        return 1000 * (time.perf_counter() - start) / count

    return once


def stepper(episodes: list[tuple[dict, np.ndarray]]):
    """PyTorch's fastest setting here for these episodes: (a timer of one pass, the setting in words)."""
    import torch

    candidates = sorted({torch.get_num_threads(), os.cpu_count() or 1})
    timed = []
    for threads, channels_last in itertools.product(candidates, (False, True)):
        once = _stepper(torch, episodes, threads, channels_last)
        timed.append((min(once(TRIAL_EPISODES) for _ in range(2)), threads, channels_last))
    _, threads, channels_last = min(timed)
    described = (
        f"PyTorch {torch.__version__}, {threads} intra-op thread{'s' if threads > 1 else ''}, "
        f"{'channels-last' if channels_last else 'contiguous'} (fastest of {len(timed)} settings tried)"
    )
    return _stepper(torch, episodes, threads, channels_last), described
