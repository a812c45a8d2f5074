"""The records layer and the leaderboard app import no TensorFlow, Keras or tensorflow-datasets.

In a fresh interpreter: import every module of `tfmeta.core`, `tfmeta.config` and `tfmeta.records` (and
what they import), run every page of the Streamlit app with AppTest on the committed records, submit a
Lake-runs record's checks, then look at `sys.modules`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.records import REPO

FORBIDDEN = ("tensorflow", "keras", "tensorflow_datasets")

SCRIPT = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import tfmeta.config, tfmeta.core, tfmeta.records
    for package in (tfmeta.core, tfmeta.config, tfmeta.records):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    from tfmeta import methods, tasks  # they import a class only when asked for it
    from tfmeta.core import registries
    registries.method_names(), registries.family_names()
    from tfmeta.config import optimizer_specs, specs
    from tfmeta.records import submission
    for path in specs.available():
        specs.load(path)
    optimizer_specs.load("learned_optimizers")
    try:
        submission.lake_runs_hash()  # reads all_runs.zip from $TFMETA_DATA_DIR without TFDS
    except submission.SubmissionError:
        pass
    from streamlit.testing.v1 import AppTest
    pages = ["few_shot", "significance", "curves", "optimizers", "inner_loop", "methods", "submit"]
    for page in pages:
        app = AppTest.from_file({app!r}, default_timeout=120).run()
        if page != "few_shot":
            app.switch_page(f"views/{{page}}.py").run()
        assert not app.exception, (page, app.exception)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in {forbidden!r})
    print(json.dumps(loaded))
    """
)


def test_records_layer_and_app_import_no_tensorflow(data_dir):
    script = SCRIPT.format(app=str(REPO / "leaderboard" / "app.py"), forbidden=FORBIDDEN)
    env_script = (
        f"import os; os.environ['TFMETA_DATA_DIR'] = {str(data_dir)!r}\n"
        "os.environ['TFMETA_SUBMISSIONS'] = 'on'\n" + script
    )
    done = subprocess.run(
        [sys.executable, "-c", env_script], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-2000:]


def test_lake_runs_hash_without_decoding_matches_the_loaded_runs(data_dir):
    from tfmeta.core.lake_runs import archive_hash
    from tfmeta.data.omniglot import lake_runs

    assert archive_hash(data_dir) == lake_runs.load(data_dir).hash
