"""Speed benchmark: meta-training milliseconds per episode and evaluation episodes per second.

Times the same `model.fit` / `model.predict` path that `tfmeta run` uses, on real Omniglot episodes,
after a warm-up that absorbs tracing. It prints numbers and asserts nothing.
"""

from __future__ import annotations

import os
import time

WARMUP_EPISODES = 20


def measure(args) -> list[str]:
    from tfmeta import methods
    from tfmeta.data import load_class_sets
    from tfmeta.data.episodes import EpisodeKey, FrozenEpisodes
    from tfmeta.data.pipelines import frozen_dataset, training_dataset
    from tfmeta.harness.training import make_optimizer

    sets = load_class_sets("omniglot", "vinyals", {"train", "test"}, args.data_dir, args.cache_dir)
    method = methods.get(args.method)()
    method.compile(
        optimizer=make_optimizer({"name": "adam", "learning_rate": 1e-3}),
        jit_compile=args.jit,
        **method.compile_arguments(),
    )
    stream = training_dataset(sets["train"], args.way, args.shot, args.query, seed=0)
    method.fit(stream, epochs=1, steps_per_epoch=WARMUP_EPISODES, verbose=0)
    start = time.perf_counter()
    method.fit(stream, epochs=1, steps_per_epoch=args.episodes, verbose=0)
    train_ms = 1000 * (time.perf_counter() - start) / args.episodes

    key = EpisodeKey("omniglot", "vinyals", "test", args.way, args.shot, args.query, args.episodes, 0)
    episodes = FrozenEpisodes.sample(key, sets["test"])  # not saved: timing only
    method.predict(frozen_dataset(episodes, sets["test"]).take(WARMUP_EPISODES), verbose=0)
    start = time.perf_counter()
    method.predict(frozen_dataset(episodes, sets["test"]), verbose=0)
    eval_rate = args.episodes / (time.perf_counter() - start)
    setting = f"{args.way}-way {args.shot}-shot {args.query}-query"
    return [
        f"method {args.method}, {setting}, jit_compile={args.jit}, {os.cpu_count()} CPU cores",
        f"meta-training: {train_ms:.1f} ms per episode "
        f"(mean of {args.episodes}, after {WARMUP_EPISODES} warm-up episodes)",
        f"evaluation:    {eval_rate:.1f} episodes per second",
    ]
