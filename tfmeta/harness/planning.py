"""A run's plan: the options of `tfmeta run` resolved against a benchmark spec, before any TensorFlow work.

Training depends only on the method, its config and the profile's training blocks, so one trained model
serves every test setting of a benchmark; `training_id` names that training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tfmeta.config import specs
from tfmeta.core import registries
from tfmeta.core.episode_index import EpisodeKey
from tfmeta.records import locations

RUNS_DIR = Path("runs")


@dataclass
class RunOptions:
    """What `tfmeta run` was asked to do."""

    spec: str | Path
    method: str
    profile: str = "standard"
    way: int | None = None
    shot: int | None = None
    method_config: dict = field(default_factory=dict)
    data_dir: str | None = None
    cache_dir: str | None = None
    runs_dir: Path = RUNS_DIR
    results_dir: Path = field(default_factory=locations.results_dir)
    verbose: str | int = "auto"
    notes: str = ""
    seed: int | None = None  # the training seed; None takes the profile's (train.seed)
    command: str | None = None  # what the record names as its command; None: this process's command line
    allow_large: bool = False  # lift the spec's size caps (as TFMETA_ALLOW_LARGE=1 does)


@dataclass
class Plan:
    """A run's resolved configuration."""

    benchmark: specs.Benchmark
    profile_name: str
    profile: dict
    setting: dict
    train: dict
    validation: dict
    method: str
    import_path: str

    @property
    def method_name(self) -> str:
        """The name records use: the registered name, or the class name of a `module:Class` method."""
        return self.method.rpartition(":")[2] if ":" in self.method else self.method

    def check_fits(self, class_sets: dict) -> None:
        """Raises SpecError when an episode block asks for more classes, or more examples per class, than
        its part of the dataset holds (a typo such as `way: 5000` fails here, named, before any work)."""
        blocks = {"train": self.train, "validation": self.validation}
        test = self.test_key
        blocks["test"] = {"part": test.part, "way": test.way, "shot": test.shot, "query": test.query}
        for name, block in blocks.items():
            class_set = class_sets.get(block["part"])
            if class_set is None or not hasattr(class_set, "images"):
                continue  # a part without a class set (Lake's runs ship their own episodes)
            classes, examples = class_set.images.shape[:2]
            if block["way"] > classes or block["shot"] + block["query"] > examples:
                raise specs.SpecError(
                    f"{self.benchmark.path}: profiles.{self.profile_name}: {name} episodes of "
                    f"{block['way']}-way {block['shot']}-shot {block['query']}-query need {block['way']} "
                    f"classes of {block['shot'] + block['query']} examples, but the {block['part']} part "
                    f"has {classes} classes of {examples}"
                )

    @property
    def test_key(self) -> EpisodeKey:
        data, test = self.benchmark.data, self.benchmark.data["test"]
        return EpisodeKey(
            data["dataset"],
            data["split"],
            test["part"],
            self.setting["way"],
            self.setting["shot"],
            test["query"],
            self.profile["test_episodes"],
            test["seed"],
        )

    @property
    def validation_key(self) -> EpisodeKey:
        data, v = self.benchmark.data, self.validation
        return EpisodeKey(
            data["dataset"],
            data["split"],
            v["part"],
            v["way"],
            v["shot"],
            v["query"],
            v["episodes"],
            v["seed"],
        )

    @property
    def parts(self) -> set[str]:
        """The split parts a run reads: training, validation and test classes."""
        return {self.train["part"], self.validation["part"], self.benchmark.data["test"]["part"]}

    @property
    def tests_on_lake_runs(self) -> bool:
        return self.benchmark.data["test"].get("source") == "lake_runs"

    @property
    def seed(self) -> int:
        """The training seed (weight initialisation and training episodes)."""
        return self.train["seed"]

    @property
    def seeds(self) -> dict[str, int]:
        return {
            "train": self.train["seed"],
            "validation": self.validation["seed"],
            "test": self.benchmark.data["test"]["seed"],
        }


def plan(options: RunOptions) -> Plan:
    """Validates everything that can be checked without data or TensorFlow, the size caps included.

    Raises:
        specs.SpecError, registries.UnknownMethodError: with the valid choices.
    """
    benchmark = specs.load(options.spec)
    profile = benchmark.method_profile(options.profile, options.method)
    setting = benchmark.setting(options.way, options.shot)
    train, validation = benchmark.blocks(options.profile, options.method, setting, options.seed)
    benchmark.check_budget(options.profile, options.method, setting, options.allow_large)
    every = validation.get("every", train["episodes"])
    if train["episodes"] % every:
        raise specs.SpecError(
            f"{benchmark.path}: profiles.{options.profile}: train.episodes ({train['episodes']}) must be a "
            f"multiple of validation.every ({every})"
        )
    return Plan(
        benchmark,
        options.profile,
        profile,
        setting,
        train,
        {**validation, "every": every},
        options.method,
        registries.method_import_path(options.method),
    )


def training_id(plan: Plan, method_config: dict, analysis_only: tuple[str, ...] = ()) -> str:
    """A short hash of everything training depends on; runs sharing it share one trained model.

    Args:
        analysis_only: method-config keys that only change `analyse` (the method's `analysis_config`),
            left out so that a new analysis of a finished training reuses it.
    """
    data = plan.benchmark.data
    identity = {
        "method": plan.import_path,
        "method_config": {k: v for k, v in method_config.items() if k not in analysis_only},
        "dataset": data["dataset"],
        "split": data["split"],
        "train": plan.train,
        "validation": plan.validation,
        "optimizer": plan.profile["optimizer"],
        "jit_compile": plan.profile.get("jit_compile", False),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
