"""Optimizer-track specs: YAML files in `benchmarks/optimizers/`, validated with file:line errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tfmeta.bench.spec import BENCHMARKS_DIR, SpecError, validate_yaml

SPECS_DIR = BENCHMARKS_DIR / "optimizers"


@dataclass(frozen=True)
class OptimizerTrack:
    """A validated optimizer-track spec."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.data["name"]

    def profile(self, name: str) -> dict[str, Any]:
        profiles = self.data["profiles"]
        if name not in profiles:
            raise SpecError(f"{self.path}: unknown profile {name!r}; valid profiles: {', '.join(profiles)}")
        return profiles[name]

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
    from tfmeta.tasks import FAMILIES  # no TensorFlow-free registry exists; tasks import TensorFlow

    for name, learned in track.data["learned"].items():
        if learned["family"] not in FAMILIES:
            raise SpecError(
                f"{track.path}: learned.{name}.family: unknown family {learned['family']!r}; "
                f"valid: {', '.join(FAMILIES)}"
            )
    for i, evaluation in enumerate(track.data["evaluations"]):
        if evaluation["family"] not in FAMILIES:
            raise SpecError(
                f"{track.path}: evaluations.{i}.family: unknown family {evaluation['family']!r}; "
                f"valid: {', '.join(FAMILIES)}"
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
        candidate = SPECS_DIR / f"{path}.yaml"
        if not candidate.is_file():
            known = ", ".join(p.stem for p in sorted(SPECS_DIR.glob("*.yaml")))
            raise SpecError(f"no optimizer-track spec {str(path)!r}; pass a YAML file or one of: {known}")
    schema = json.loads(resources.files("tfmeta.bench").joinpath("optimizer_track.schema.json").read_text())
    track = OptimizerTrack(candidate.resolve(), validate_yaml(candidate, schema))
    _check_names(track)
    return track
