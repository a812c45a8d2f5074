"""Benchmark specs: YAML files validated against `benchmark.schema.json`, errors with file and line."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tfmeta.records import locations, store


class SpecError(ValueError):
    """A benchmark spec that cannot be used; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Spec:
    """A validated YAML spec with named profiles (benchmarks and optimizer tracks)."""

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


@dataclass(frozen=True)
class Benchmark(Spec):
    """A validated benchmark spec."""

    @property
    def episodes_dir(self) -> Path:
        """Where the frozen episode index files of this benchmark live: beside the spec."""
        return self.path.parent / "episodes"

    def method_defaults(self, method: str, cls: type, profile: str | None = None) -> dict[str, Any]:
        """The spec's `method_config` for `method` (its `default` entry, then its own, then the `config`
        of the method's entry in `profile`), restricted to the arguments that the constructors of `cls`
        and its bases name, so that a method without a `filters` argument still runs."""
        table = self.data.get("method_config", {})
        merged = {**table.get("default", {}), **table.get(method, {})}
        if profile is not None:
            merged |= self.method_profile(profile, method).get("config", {})
        named = {name for klass in cls.__mro__[:-1] for name in inspect.signature(klass.__init__).parameters}
        return {key: value for key, value in merged.items() if key in named}

    def method_profile(self, name: str, method: str) -> dict:
        """Profile `name` with its `methods` entry for `method` (a per-method training budget) merged in."""
        profile = self.profile(name)
        override = profile.get("methods", {}).get(method, {})
        merged = {key: value for key, value in profile.items() if key != "methods"}
        for block in ("train", "validation", "optimizer"):
            if block in override:
                merged[block] = {**profile[block], **override[block]}
        for key in ("config", "note"):
            if key in override:
                merged[key] = override[key]
        return merged

    def blocks(self, profile: str, method: str, setting: dict, seed: int | None = None) -> tuple[dict, dict]:
        """The `train` and `validation` blocks of a run: the method's profile, "test" shots resolved to
        the setting's, and the training seed (weight initialisation and training episodes; None keeps
        the profile's). The frozen test episodes never depend on it.

        Raises:
            SpecError: for a negative seed.
        """
        merged = self.method_profile(profile, method)
        train, validation = (
            {**block, "shot": setting["shot"] if block["shot"] == "test" else block["shot"]}
            for block in (merged["train"], merged["validation"])
        )
        if seed is not None:
            if seed < 0:
                raise SpecError(f"the training seed must be 0 or more, not {seed}")
            train["seed"] = seed
        return train, validation

    def setting(self, way: int | None, shot: int | None) -> dict[str, int]:
        """The test setting matching `way` and `shot`; either may be None to take the first match."""
        for setting in self.data["settings"]:
            if way in (None, setting["way"]) and shot in (None, setting["shot"]):
                return setting
        valid = ", ".join(f"{s['way']}-way {s['shot']}-shot" for s in self.data["settings"])
        raise SpecError(f"{self.path}: no setting with way={way}, shot={shot}; valid settings: {valid}")


def _schema() -> dict:
    return store.schema("benchmark")


def _line_of(node: yaml.Node, path) -> int:
    """1-based line of the YAML node at `path` (keys and indices), or of its deepest existing parent."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = [value for key, value in node.value if key.value == step]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            match = [node.value[step]]
        else:
            match = []
        if not match:
            break
        node = match[0]
    return node.start_mark.line + 1


def load(path: str | Path) -> Benchmark:
    """Reads and validates a benchmark spec.

    Args:
        path: a YAML file, or the name of a spec in the `benchmarks/` folder (without `.yaml`).

    Raises:
        SpecError: naming the file, the line and the field at fault.
    """
    path = resolve(path)
    return Benchmark(path, validate_yaml(path, _schema()))


# A spec is a page of YAML: anything much larger, or anchors and aliases that expand into more nodes than a
# spec ever holds, is refused before it is constructed or printed.
MAX_SPEC_BYTES = 1024 * 1024
MAX_SPEC_NODES = 100_000


def validate_yaml(path: Path, schema: dict) -> Any:
    """Parses a YAML file and validates it against a JSON schema.

    Raises:
        SpecError: naming the file, the line and the field at fault.
    """
    with path.open("rb") as f:
        raw = f.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES} bytes; a spec is a page of YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not a UTF-8 text file (byte {err.start}); a spec is YAML text") from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_expansion(path, root)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise SpecError(f"{path}:{mark.line + 1}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:  # a reader error: a control character, say
        raise SpecError(f"{path}: invalid YAML: {str(err).splitlines()[0][:200]}") from err
    if root is None:
        raise SpecError(f"{path}:1: the file is empty")
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=jsonschema.exceptions.relevance
    )
    if errors:
        error = errors[0]
        field = ".".join(str(step) for step in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        raise SpecError(f"{path}:{_line_of(root, error.absolute_path)}: {field}: {message}")
    return data


def _check_expansion(path: Path, root: yaml.Node | None) -> None:
    """Refuses a document whose aliases expand into more than MAX_SPEC_NODES nodes (a "billion laughs"),
    counting each alias as often as it is used and stopping at the limit."""
    pending, count = [root] if root is not None else [], 0
    while pending:
        node = pending.pop()
        count += 1
        if count > MAX_SPEC_NODES:
            raise SpecError(
                f"{path}:{node.start_mark.line + 1}: anchors and aliases expand past {MAX_SPEC_NODES} "
                "values; write the values out instead"
            )
        if isinstance(node, yaml.MappingNode):
            pending += [item for pair in node.value for item in pair]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


def resolve(path: str | Path) -> Path:
    """The spec file for a path or a bare benchmark name; lists the known specs when neither exists."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate.resolve()
    named = locations.benchmarks_dir() / f"{path}.yaml"
    if named.is_file():
        return named
    known = locations.shipped_names()
    raise SpecError(f"no benchmark spec {str(path)!r}; pass a YAML file or one of: {known}")


def available() -> list[Path]:
    """The spec files shipped in `benchmarks/`."""
    return sorted(locations.benchmarks_dir().glob("*.yaml"))
