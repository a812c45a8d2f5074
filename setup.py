"""Ships the top-level `benchmarks/` and `leaderboard/` folders inside the wheel, as `tfmeta/_shipped/`.

The repository keeps them at the top level (specs, frozen episodes, the Streamlit app and the committed
records); an installed tfmeta finds its copies through `tfmeta.records.locations`. Everything else about
the package is declared in `pyproject.toml`.

Left out of the wheel (and of the sdist, MANIFEST.in): the trained weights, which grow with every verified
seed and which `tfmeta verify` finds by sha256 in the cache or downloads (tfmeta.harness.weights_store),
and the superseded records, which the leaderboard no longer shows.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("benchmarks", "leaderboard")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
LEFT_OUT = (
    "leaderboard/weights",
    "leaderboard/results/superseded",
    "leaderboard/results/optimizers/superseded",
)


def ignored(root: Path):
    """`copytree`'s ignore: IGNORED's patterns, and the LEFT_OUT folders under `root`."""
    left_out = {root / path for path in LEFT_OUT}

    def ignore(directory, names):
        return set(IGNORED(directory, names)) | {n for n in names if Path(directory) / n in left_out}

    return ignore


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            target = Path(self.build_lib) / "tfmeta" / "_shipped" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(root / name, target, ignore=ignored(root))


setup(cmdclass={"build_py": BuildPyWithShipped})
