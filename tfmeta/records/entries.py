"""What makes an entry of the leaderboard: method, variant config, training budget and protocol.

Records of one entry differ only in training seed, and aggregate into one row. TensorFlow- and
pandas-free: `tfmeta submit` checks a new record against its entry's siblings with it.
"""

from __future__ import annotations

import json

# Constructor arguments added after records were written, with the value those records ran with: a record
# that states it is the same entry as one written before the argument existed.
LATER_ARGUMENTS = {"meta_batch": 1}
PRIMARY = "inductive, train classes"  # the protocol every spec asks for; other classes rank apart


def training_seed(record: dict) -> int:
    """The record's training seed (older records hold it in `config.train.seed` only)."""
    train = record["config"].get("train") or {}
    return int(record.get("seed", train.get("seed", 0)))


def defining(config: dict) -> dict:
    """The constructor arguments of `config` that make a variant: less the seed, the analysis-only
    arguments (`curve_*`) and arguments added later at the value older records ran with."""
    return {
        k: v
        for k, v in config.items()
        if k != "seed" and not k.startswith("curve_") and LATER_ARGUMENTS.get(k, object()) != v
    }


def entry_key(record: dict) -> tuple:
    """What makes an entry: method, constructor config (less seeds and analysis-only arguments), training
    block (less its seed) and batch-norm protocol. Records sharing it differ only in training seed."""
    config = defining(record["method"]["config"])
    train = {k: v for k, v in (record["config"].get("train") or {}).items() if k != "seed"}
    return (
        record["method"]["name"],
        json.dumps(config, sort_keys=True, default=str),
        json.dumps(train, sort_keys=True, default=str),
        batch_norm(record),
    )


def protocol(record: dict) -> str:
    """The protocol class a record ranks in: the batch-norm mode its method used at test time and the
    classes it trained on, e.g. "transductive, trainval classes"."""
    mode = batch_norm(record).split()[0]
    part = (record["config"].get("train") or {}).get("part") or "unknown"
    return f"{mode}, {part} classes"


def batch_norm(record: dict) -> str:
    """The batch-norm policy the method actually used: its own (`config.batch_norm`, e.g. the
    transductive statistics of MAML and its kin) where it has one and it differs from the spec's."""
    spec = record["benchmark"].get("batch_norm", "unknown")
    own = record["method"]["config"].get("batch_norm")
    return spec if own in (None, spec) else f"{own} (method; spec: {spec})"
