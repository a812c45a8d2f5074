"""Ships the top-level `benchmarks/` and `leaderboard/` folders inside the wheel, as `tfmeta/_shipped/`.

The repository keeps them at the top level (specs, frozen episodes, the Streamlit app and the committed
records); an installed tfmeta finds its copies through `tfmeta.records.locations`. Everything else about
the package is declared in `pyproject.toml`.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("benchmarks", "leaderboard")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            target = Path(self.build_lib) / "tfmeta" / "_shipped" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(root / name, target, ignore=IGNORED)


setup(cmdclass={"build_py": BuildPyWithShipped})
