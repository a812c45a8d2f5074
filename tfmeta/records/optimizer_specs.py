"""Optimizer-track specs: YAML files in `benchmarks/optimizers/`, validated with file:line errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfmeta import tasks
from tfmeta.records import locations, store
from tfmeta.records.optimizer import BASELINES
from tfmeta.records.specs import Spec, SpecError, validate_yaml


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


def _check_names(track: OptimizerTrack) -> None:
    valid = ", ".join(tasks.names())
    for name, learned in track.data["learned"].items():
        if not tasks.is_known(learned["family"]):
            raise SpecError(
                f"{track.path}: learned.{name}.family: unknown family {learned['family']!r}; "
                f"valid: {valid}, or 'package.module:ClassName'"
            )
    for i, evaluation in enumerate(track.data["evaluations"]):
        if not tasks.is_known(evaluation["family"]):
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
