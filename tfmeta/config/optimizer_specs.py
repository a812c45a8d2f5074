"""Optimizer-track specs: YAML files in `benchmarks/optimizers/`, validated with file:line errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfmeta.config.specs import Spec, SpecError, check_caps, validate_yaml
from tfmeta.core import registries
from tfmeta.core.registries import BASELINES
from tfmeta.records import locations, store

# Caps on a profile's budget, far above the shipped track (in brackets), so that a typo is refused before
# any work; TFMETA_ALLOW_LARGE=1 lifts them (`specs.large_allowed`).
META_TRAIN_CAPS = {
    "iterations": 100_000,  # [2,000]
    "meta_batch": 1_024,  # [128]
    "horizon": 10_000,  # [100, the default]
    "unroll": 10_000,  # [20, the default]
    "units": 1_024,  # [20, the default]
    "num_layers": 16,  # [2, the default]
}
MAX_HORIZON = 10_000  # optimizer steps of an evaluated run, horizon_factor included [200]
MAX_TASKS = 10_000  # held-out or tuning problems of an evaluation [100]
MAX_GRID = 100  # learning rates tried per baseline [10]


def specs_dir() -> Path:
    """The shipped optimizer-track specs."""
    return locations.benchmarks_dir() / "optimizers"


@dataclass(frozen=True)
class OptimizerTrack(Spec):
    """A validated optimizer-track spec."""

    def meta_train_config(self, learned: str, profile: str) -> dict[str, Any]:
        """The meta-training settings of one learned optimizer in a profile (empty: the defaults)."""
        if learned not in self.data["learned"]:
            raise SpecError(
                f"{self.path}: unknown learned optimizer {learned!r}; "
                f"valid: {', '.join(self.data['learned'])}"
            )
        return dict(self.profile(profile)["meta_train"].get(learned, {}))

    def evaluations(self, profile: str) -> list[dict[str, Any]]:
        """The evaluations a profile runs (all, or those of its `families`)."""
        wanted = self.profile(profile)["evaluate"].get("families")
        return [e for e in self.data["evaluations"] if wanted is None or e["family"] in wanted]

    def check_budget(self, profile: str, allow_large: bool = False) -> None:
        """Refuses a profile whose meta-training or evaluation budget is above the caps, before any work.

        Raises:
            SpecError: naming the file, the line, the field, the cap and the override.
        """
        check_caps(self.path, self._budget(profile), allow_large)

    def _budget(self, profile: str) -> list[tuple[tuple, int, int, str]]:
        """(where in the YAML, value, cap, what it counts) of each capped quantity of a profile."""
        body, where = self.profile(profile), ("profiles", profile)
        quantities = [
            ((*where, "meta_train", learned, key), value, META_TRAIN_CAPS[key], f"{key} of meta-training")
            for learned, config in body["meta_train"].items()
            for key, value in config.items()
            if key in META_TRAIN_CAPS
        ]
        evaluate, factor = body["evaluate"], max(e.get("horizon_factor", 1) for e in self.data["evaluations"])
        return quantities + [
            ((*where, "evaluate", "horizon"), evaluate["horizon"] * factor, MAX_HORIZON,
             f"steps per evaluated run (horizon x the largest horizon_factor, {factor})"),
            ((*where, "evaluate", "tasks"), evaluate["tasks"], MAX_TASKS, "held-out problems"),
            ((*where, "evaluate", "tuning_tasks"), evaluate["tuning_tasks"], MAX_TASKS, "tuning problems"),
            ((*where, "evaluate", "grid"), len(evaluate["grid"]), MAX_GRID, "learning rates in the grid"),
        ]  # fmt: skip


def _check_names(track: OptimizerTrack) -> None:
    valid = ", ".join(registries.family_names())
    for name, learned in track.data["learned"].items():
        if not registries.is_family(learned["family"]):
            raise SpecError(
                f"{track.path}: learned.{name}.family: unknown family {learned['family']!r}; "
                f"valid: {valid}, or 'package.module:ClassName'"
            )
    for i, evaluation in enumerate(track.data["evaluations"]):
        if not registries.is_family(evaluation["family"]):
            raise SpecError(
                f"{track.path}: evaluations.{i}.family: unknown family {evaluation['family']!r}; "
                f"valid: {valid}, or 'package.module:ClassName'"
            )
        if evaluation["learned"] not in track.data["learned"]:
            raise SpecError(
                f"{track.path}: evaluations.{i}.learned: {evaluation['learned']!r} is not under `learned`"
            )


def load(path: str | Path) -> OptimizerTrack:
    """Reads and validates an optimizer-track spec (a YAML file or a name in `benchmarks/optimizers/`).

    Raises:
        SpecError: naming the file, the line and the field at fault.
    """
    candidate = Path(path)
    if not candidate.is_file():
        candidate = specs_dir() / f"{path}.yaml"
        if not candidate.is_file():
            known = locations.shipped_names("optimizers")
            raise SpecError(f"no optimizer-track spec {str(path)!r}; pass a YAML file or one of: {known}")
    schema = store.schema("optimizer_track")
    schema["properties"]["baselines"]["items"] = {"enum": list(BASELINES)}  # the one list of baselines
    track = OptimizerTrack(candidate.resolve(), validate_yaml(candidate, schema))
    _check_names(track)
    return track
