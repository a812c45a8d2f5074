"""The dependency rule of CONTRIBUTING.md, checked over the import graph of `tfmeta/` and `leaderboard/`:
every import of one of our modules, at the top of a module or inside a function, points to the part's own
modules or down the layers, never up or sideways, and no modules import each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.records import REPO

# The parts of the code and the parts each imports directly; a part may also import whatever those may.
# `core` is the bottom: it imports nothing of ours. The TensorFlow-free half (`config`, `records`, the app
# in `leaderboard/`) stands on `core` alone. `config` and `records` are one layer in two folders, so each
# may import the other: the specs read schemas and folders through `records`, whose submission checks
# read specs (the module graph still has no cycle).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "registration": set(),  # the Keras registration hook; it names what it loads, never imports it
    "tfmeta": {"registration"},  # the package itself: its version and `import tfmeta`'s hook
    "data": {"core"},
    "backbones": {"core"},
    "config": {"core", "records"},
    "records": {"core", "config"},
    "tasks": {"data"},
    "optimizers": {"tasks"},
    "methods": {"backbones", "optimizers"},
    "harness": {"methods", "records", "tfmeta"},
    "speed": {"harness"},  # `tfmeta speed`: times the run pipeline's steps, so it stands on them
    "cli": {"harness", "speed"},
    "leaderboard": {"records"},
}


def allowed(part: str) -> set[str]:
    """The parts `part` may import: its own and everything below it."""
    reachable, todo = {part}, [part]
    while todo:
        for below in LAYERS[todo.pop()]:
            if below not in reachable:
                reachable.add(below)
                todo.append(below)
    return reachable


def modules() -> dict[str, Path]:
    """Every module of `tfmeta/` and of the app, by dotted name (the app's as `leaderboard.<name>`)."""
    found = {}
    for top in ("tfmeta", "leaderboard"):
        for path in sorted((REPO / top).rglob("*.py")):
            relative = path.relative_to(REPO)
            if "_shipped" in relative.parts or "results" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def part(module: str) -> str:
    """The part a module belongs to: `tfmeta` itself, or the package or module below it, or the app."""
    names = module.split(".")
    return names[0] if names[0] == "leaderboard" or len(names) == 1 else names[1]


def imports(path: Path, module: str, known: dict[str, Path]) -> list[tuple[str, int]]:
    """The modules of ours that `module` imports anywhere in its file, and the lines that import them."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` packages up
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, base] if base else parents)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _longest_known(name, known)
            if target is not None and target != module:
                found.add((target, node.lineno))
    return sorted(found)


def _longest_known(name: str, known: dict[str, Path]) -> str | None:
    """The module `name` imports: itself, or for `from package import name`, the package."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def graph() -> dict[str, list[tuple[str, int]]]:
    known = modules()
    return {module: imports(path, module, known) for module, path in known.items()}


def test_every_part_has_a_place_in_the_layers():
    parts = {part(module) for module in modules()}
    assert parts <= set(LAYERS), f"place these in LAYERS: {sorted(parts - set(LAYERS))}"


def test_imports_point_down_the_layers_only():
    known = modules()
    upward = [
        f"{known[module].relative_to(REPO)}:{line}: {part(module)} imports {target} ({part(target)})"
        for module, targets in graph().items()
        for target, line in targets
        if part(target) not in allowed(part(module))
    ]
    assert not upward, "imports up or sideways:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_cycle():
    edges = {module: {target for target, _ in targets} for module, targets in graph().items()}
    cycles = []
    for start in edges:  # a path back to `start` through its imports
        seen, todo = set(), [(start, [start])]
        while todo:
            module, path = todo.pop()
            for target in edges.get(module, ()):
                if target == start:
                    cycles.append(" -> ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    todo.append((target, [*path, target]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles)))
