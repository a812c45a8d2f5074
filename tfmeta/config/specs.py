"""Benchmark specs: YAML files validated against `benchmark.schema.json`, errors with file and line."""

from __future__ import annotations

import inspect
import math
import os
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

    def method_defaults(
        self, method: str, cls: type, profile: str | None = None, also: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The spec's `method_config` for `method` (its `default` entry, then its own, then the `config`
        of the method's entry in `profile`), restricted to the arguments that the constructors of `cls`
        and its bases name, and the keys `also` (those an analysis of the method reads), so that a
        method without a `filters` argument still runs."""
        table = self.data.get("method_config", {})
        merged = {**table.get("default", {}), **table.get(method, {})}
        if profile is not None:
            merged |= self.method_profile(profile, method).get("config", {})
        named = {name for klass in cls.__mro__[:-1] for name in inspect.signature(klass.__init__).parameters}
        return {key: value for key, value in merged.items() if key in named or key in also}

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
            SpecError: for a seed outside 0 .. MAX_SEED.
        """
        merged = self.method_profile(profile, method)
        train, validation = (
            {**block, "shot": setting["shot"] if block["shot"] == "test" else block["shot"]}
            for block in (merged["train"], merged["validation"])
        )
        if seed is not None:
            if not 0 <= seed <= MAX_SEED:
                raise SpecError(f"the training seed must be from 0 to {MAX_SEED}, not {seed}")
            train["seed"] = seed
        return train, validation

    def check_budget(self, profile: str, method: str, setting: dict, allow_large: bool = False) -> None:
        """Refuses a run whose episode counts or sizes are above the caps (typos such as `1e12`), before
        any data is read; `allow_large` or TFMETA_ALLOW_LARGE=1 lifts the caps.

        Raises:
            SpecError: naming the file, the line, the field, the cap and the override.
        """
        check_caps(self.path, self._budget(profile, method, setting), allow_large)

    def _budget(self, profile: str, method: str, setting: dict) -> list[tuple[tuple, int, int, str]]:
        """(where in the YAML, value, cap, what it counts) of each capped quantity of a run."""
        merged = self.method_profile(profile, method)
        train, validation = merged["train"], merged["validation"]
        overrides = self.profile(profile).get("methods", {}).get(method, {})

        def where(block: str, key: str | None = None) -> tuple:
            if block in overrides and (key is None or key in overrides[block]):
                return ("profiles", profile, "methods", method, block) + ((key,) if key else ())
            return ("profiles", profile, block) + ((key,) if key else ())

        def images(block: dict) -> int:
            shot = setting["shot"] if block["shot"] == "test" else block["shot"]
            return block["way"] * (shot + block["query"])

        test_images = setting["way"] * (setting["shot"] + self.data["test"]["query"])
        passes = train["episodes"] // validation.get("every", train["episodes"])
        return [
            (where("train", "episodes"), train["episodes"], MAX_TRAIN_EPISODES, "training episodes"),
            (where("validation", "episodes"), validation["episodes"], MAX_EVAL_EPISODES,
             "validation episodes"),
            (("profiles", profile, "test_episodes"), merged["test_episodes"], MAX_EVAL_EPISODES,
             "test episodes"),
            (where("train"), images(train), MAX_EPISODE_IMAGES, "images in a training episode"),
            (where("validation"), images(validation), MAX_EPISODE_IMAGES, "images in a validation episode"),
            (("settings", self.data["settings"].index(setting)), test_images, MAX_EPISODE_IMAGES,
             "images in a test episode (way x (shot + test.query))"),
            (where("validation", "every"), passes * validation["episodes"], MAX_VALIDATION_EPISODES,
             "validation episodes over the training (train.episodes / every x episodes)"),
        ]  # fmt: skip

    def setting(self, way: int | None, shot: int | None) -> dict[str, int]:
        """The test setting matching `way` and `shot`; either may be None to take the first match."""
        for setting in self.data["settings"]:
            if way in (None, setting["way"]) and shot in (None, setting["shot"]):
                return setting
        valid = ", ".join(f"{s['way']}-way {s['shot']}-shot" for s in self.data["settings"])
        raise SpecError(f"{self.path}: no setting with way={way}, shot={shot}; valid settings: {valid}")


# Caps on what one run reads and computes, far above every shipped spec (in brackets), so that a typo such
# as `test_episodes: 1000000000` is refused before any work instead of filling the memory.
ALLOW_LARGE_ENV = "TFMETA_ALLOW_LARGE"
MAX_SEED = 2**31 - 1  # what numpy, TensorFlow and Keras all accept as a seed
MAX_TRAIN_EPISODES = 10_000_000  # [1,920,000: MAML's paper budget on omniglot]
MAX_EVAL_EPISODES = 10_000  # test or validation episodes of a run [1,000]
MAX_EPISODE_IMAGES = 10_000  # way x (shot + query) of one episode [60 x (5 + 5) = 600]
MAX_VALIDATION_EPISODES = 10_000_000  # validation episodes over a whole training [100 x 600 = 60,000]


def large_allowed(allow_large: bool = False) -> bool:
    """Whether the size caps are lifted: by the caller, or by TFMETA_ALLOW_LARGE set to anything but 0."""
    return allow_large or os.environ.get(ALLOW_LARGE_ENV, "0").strip() not in ("", "0")


def check_caps(path: Path, quantities: list[tuple[tuple, int, int, str]], allow_large: bool = False) -> None:
    """Refuses the first quantity above its cap, unless the caps are lifted (`large_allowed`).

    Args:
        quantities: (where in the YAML: keys and indices, value, cap, what it counts).

    Raises:
        SpecError: naming the file, the line, the field, the value, the cap and the override.
    """
    if large_allowed(allow_large):
        return
    for steps, value, cap, what in quantities:
        if value > cap:
            field = ".".join(map(str, steps))
            raise SpecError(
                f"{path}:{line_of(path, steps)}: {field}: {value:,} {what}, above the cap of {cap:,} (the "
                f"shipped specs stay far below it); for a run this large on purpose, set {ALLOW_LARGE_ENV}=1"
            )


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
    data, root = parse_and_validate(path, _schema())
    _check_method_overrides(path, data, root)
    return Benchmark(path, data)


# A spec is a page of YAML: anything much larger, nested deeper, or with anchors and aliases that expand
# into more nodes than a spec ever holds, is refused before it is constructed or printed.
MAX_SPEC_BYTES = 1024 * 1024
MAX_SPEC_NODES = 100_000
MAX_SPEC_DEPTH = 32  # the shipped specs nest 6 levels; PyYAML composes nested nodes recursively


class SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing collections nested deeper than MAX_SPEC_DEPTH as a YAML error (with
    its line) instead of exhausting Python's recursion limit."""

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_SPEC_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested deeper than {MAX_SPEC_DEPTH} levels; a spec nests a handful",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def validate_yaml(path: Path, schema: dict) -> Any:
    """Parses a YAML file and validates it against a JSON schema.

    Raises:
        SpecError: naming the file, the line and the field at fault.
    """
    return parse_and_validate(path, schema)[0]


def parse_and_validate(path: Path, schema: dict) -> tuple[Any, yaml.Node]:
    """A YAML file's data, validated against a JSON schema, and its node tree (for lines).

    Raises:
        SpecError: naming the file, the line and the field at fault; never quoting more of the file than
            one short value.
    """
    text = _read_text(path)
    try:
        root = yaml.compose(text, Loader=SpecLoader)
        _check_expansion(path, root)
        data = yaml.load(text, Loader=SpecLoader)  # a SafeLoader: plain data only
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise SpecError(f"{path}:{mark.line + 1}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:  # a reader error: a control character, say
        raise SpecError(f"{path}: invalid YAML: {str(err).splitlines()[0][:200]}") from err
    if root is None:
        raise SpecError(f"{path}:1: the file is empty")
    _check_finite(path, data, root)
    _check_schema(path, data, root, schema)
    return data, root


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
    except OSError as err:
        raise SpecError(f"{path}: cannot be read ({err.strerror}); pass a readable YAML file") from err
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES} bytes; a spec is a page of YAML")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not a UTF-8 text file (byte {err.start}); a spec is YAML text") from err


# "integer" as a count means: a Python int. JSON Schema also counts 1000000000.0 (YAML's 1.0e+9) as one,
# which would reach `range()` and array sizes as a float.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def _check_schema(path: Path, data: Any, root: yaml.Node, schema: dict) -> None:
    """Raises SpecError for the most relevant schema violation of `data`, if any."""
    if not isinstance(data, dict) or not set(data) & set(schema.get("properties", {})):
        found = f"a {_kind(data)}" if not isinstance(data, dict) else "a mapping with none of those keys"
        raise SpecError(
            f"{path}: not a {schema.get('title', 'spec')}: expected a YAML mapping with the keys "
            f"{', '.join(schema.get('required', []))}; found {found}"
        )
    errors = sorted(_Validator(schema).iter_errors(data), key=jsonschema.exceptions.relevance)
    if errors:
        error = errors[0]
        field = ".".join(str(step) for step in error.absolute_path) or "(top level)"
        raise SpecError(f"{path}:{_line_of(root, error.absolute_path)}: {field}: {_message(error)}")


def _message(error: jsonschema.ValidationError) -> str:
    """The schema error's message, quoting the value at fault only when it is a short scalar (a mapping,
    list or long text from the file is named by its kind), with a hint for a count given as a float."""
    shown = repr(error.instance)
    message = error.message
    if isinstance(error.instance, (dict, list)) or len(shown) > 80:
        message = message.replace(shown, f"this {_kind(error.instance)}")
    if error.validator == "type" and "integer" in str(error.validator_value):
        message += _integer_hint(error.instance)
    return message if len(message) <= 300 else message[:300] + "..."


def _integer_hint(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isfinite(number) and number.is_integer():
        return f"; write a count as a whole number without a decimal point or exponent: {int(number)}"
    return "; a count is a whole number"


def _kind(value: Any) -> str:
    kinds = {dict: "mapping", list: "list", str: "text string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def _check_finite(path: Path, data: Any, root: yaml.Node) -> None:
    """Refuses `.inf` and `.nan` anywhere: no hyperparameter or count of a spec may be one, and records
    cannot hold them."""
    pending = [((), data)]
    while pending:
        steps, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            field = ".".join(map(str, steps)) or "(top level)"
            raise SpecError(
                f"{path}:{_line_of(root, steps)}: {field}: {value} is not a finite number; give a finite one"
            )
        if isinstance(value, dict):
            pending += [((*steps, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            pending += [((*steps, index), item) for index, item in enumerate(value)]


def _check_method_overrides(path: Path, data: dict, root: yaml.Node) -> None:
    """Validates each profile's per-method blocks merged into the profile's, as the run will use them (the
    schema can only say that an override is a mapping)."""
    schema = _schema()
    blocks = {
        "train": {"$ref": "#/$defs/episodes"},
        "validation": {"$ref": "#/$defs/episodes"},
        "optimizer": schema["$defs"]["profile"]["properties"]["optimizer"],
    }
    benchmark = Benchmark(path, data)
    for profile, body in data["profiles"].items():
        for method, override in body.get("methods", {}).items():
            merged = benchmark.method_profile(profile, method)
            for block, block_schema in blocks.items():
                if block not in override:
                    continue
                errors = _Validator({**block_schema, "$defs": schema["$defs"]}).iter_errors(merged[block])
                error = min(errors, key=jsonschema.exceptions.relevance, default=None)
                if error is not None:
                    steps = ("profiles", profile, "methods", method, block, *error.absolute_path)
                    field = ".".join(map(str, steps))
                    raise SpecError(f"{path}:{_line_of(root, steps)}: {field}: {_message(error)}")


def _check_expansion(path: Path, root: yaml.Node | None) -> None:
    """Refuses a document whose aliases expand into more than MAX_SPEC_NODES nodes (a "billion laughs"),
    counting each alias as often as it is used and stopping at the limit, or nest deeper than
    MAX_SPEC_DEPTH once expanded (a chain of aliases, each one level deeper)."""
    pending, count = [(root, 1)] if root is not None else [], 0
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_SPEC_NODES:
            raise SpecError(
                f"{path}:{node.start_mark.line + 1}: anchors and aliases expand past {MAX_SPEC_NODES} "
                "values; write the values out instead"
            )
        if depth > MAX_SPEC_DEPTH:
            raise SpecError(
                f"{path}:{node.start_mark.line + 1}: anchors and aliases nest deeper than {MAX_SPEC_DEPTH} "
                "levels; write the values out instead"
            )
        if isinstance(node, yaml.MappingNode):
            pending += [(item, depth + 1) for pair in node.value for item in pair]
        elif isinstance(node, yaml.SequenceNode):
            pending += [(item, depth + 1) for item in node.value]


def line_of(path: Path, steps: tuple) -> int:
    """1-based line of the value at `steps` (keys and indices) in a spec already validated, or of its
    deepest existing parent."""
    return _line_of(yaml.compose(_read_text(path), Loader=SpecLoader), steps)


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
