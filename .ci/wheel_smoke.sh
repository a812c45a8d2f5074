#!/usr/bin/env bash
# The wheel outside any checkout: install dist/tfmeta-*.whl into a second virtual environment and, from an
# empty folder, run the commands a user runs. Usage: .ci/wheel_smoke.sh PYTHON DATA_DIR [DEPENDENCIES]
# With DEPENDENCIES (a site-packages folder where pip already resolved the same pyproject, as .ci/run's
# first environment), the wheel goes in with --no-deps and that folder is appended to the second
# environment's path: two minutes less than installing TensorFlow again. It is appended as a plain path,
# so the editable install of the checkout that it holds is never imported.
set -euo pipefail
python="$1"
data_dir="$(cd "$2" && pwd)"
dependencies="${3:-}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
wheel="$(ls "$repo"/dist/tfmeta-*.whl)"
work="$(mktemp -d)"
# Unquoted, so that a server not started adds no argument (`kill 0` would signal the whole process group).
trap 'kill ${board_pid:-} ${weights_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT

# The trained weights stay out of the wheel (`tfmeta verify` fetches them by sha256): it stays small.
if "$python" -m zipfile -l "$wheel" | grep "_shipped/leaderboard/weights/" >/dev/null; then
  echo "the wheel holds trained weights: setup.py must leave leaderboard/weights out" >&2; exit 1
fi
[ "$(stat -c %s "$wheel")" -le $((25 * 1024 * 1024)) ] || { echo "the wheel is over 25 MiB" >&2; exit 1; }

"$python" -m venv "$work/venv"
if [ -n "$dependencies" ]; then
  "$work/venv/bin/pip" install -q --no-deps "$wheel"
  site="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  echo "$(cd "$dependencies" && pwd)" >"$site/zz-dependencies.pth"
else
  "$work/venv/bin/pip" install -q "$wheel"
fi
tfmeta="$work/venv/bin/tfmeta"
installed_files="$(find "$work/venv" -type f -not -name '*.pyc' | wc -l)"
mkdir "$work/project" && cd "$work/project"
if [ -n "$dependencies" ]; then
  # The wheel's own package, not the checkout's, and its declared requirements all present.
  "$work/venv/bin/python" - "$repo" <<'PY'
import sys
from importlib import metadata
from pathlib import Path

import tfmeta
from packaging.requirements import Requirement

assert not Path(tfmeta.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), tfmeta.__file__
for requirement in map(Requirement, metadata.requires("tfmeta")):
    if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
        assert metadata.version(requirement.name) in requirement.specifier, requirement
PY
fi
export TFMETA_DATA_DIR="$data_dir" TFMETA_CACHE_DIR="$work/cache"
unset TFMETA_RESULTS_DIR

# The README's quickstart, as written, from an empty folder: a new method trained on the quick profile,
# verified, and ranked with verdicts beside the shipped quick entries. Its run is the smoke's only training.
mkdir "$work/quickstart" && cd "$work/quickstart"
"$work/venv/bin/python" "$repo/.ci/readme_quickstart.py" "$repo/README.md"
"$work/venv/bin/python" - <<'PY'
from streamlit.testing.v1 import AppTest

import os

from tfmeta.records import locations

os.environ["TFMETA_RESULTS_DIR"] = "my-results"  # the folder the README's commands wrote
app = AppTest.from_file(str(locations.app_dir() / "app.py"), default_timeout=120).run()
quick = [o for o in app.selectbox[0].options if o.endswith("quick budget") and "5-way 1-shot" in o]
assert quick, app.selectbox[0].options
app.selectbox[0].set_value(quick[0]).run()
assert not app.exception, app.exception
(table,) = [frame.value for frame in app.dataframe if "Rank" in frame.value][:1]
names = {entry.split(" (")[0] for entry in table["Entry"]}
assert "CosinePrototypes" in names and len(names) > 1, names  # beside the shipped quick entries
verdicts = [c for c in ("Verdict", "Gap to next") if c in table.columns]
assert verdicts and table[verdicts[0]].astype(str).str.contains("beats|ties|loses").any(), table.columns
print("quickstart: the new method ranks in the quick budget table with verdicts")
PY
cd "$work/project"

"$tfmeta" list | grep "protonet" >/dev/null
# The quickstart's record, submitted to another folder (run writes to ./tfmeta-results/ outside a checkout
# unless told otherwise, as the quickstart does).
record="$(ls "$work"/quickstart/my-results/omniglot-CosinePrototypes-5w1s-quick-*.json)"
"$tfmeta" submit "$record" --results-dir board
ls board/omniglot-CosinePrototypes-5w1s-quick-*.json >/dev/null
# The same record again is stored already: said in one line, exit 0, nothing stored twice.
"$tfmeta" submit "$record" --results-dir board | grep "already stored" >/dev/null
[ "$(ls board/*.json | grep -vc verified.json)" = 1 ]
# The shipped meta-trained weights, from the installed package (meta-training itself is in the tests).
"$tfmeta" optimizer-track learned_optimizers --profile smoke --family quadratic
ls tfmeta-results/optimizers/*.json >/dev/null

# The app, from the installed package: the shipped standard records beside this folder's own.
"$work/venv/bin/python" - <<'PY'
from streamlit.testing.v1 import AppTest

from tfmeta.records import locations

def entries(app):
    ranked = [frame.value for frame in app.dataframe if "Rank" in frame.value]
    return {entry.split(" (")[0] for frame in ranked for entry in frame["Entry"]}


app = AppTest.from_file(str(locations.app_dir() / "app.py"), default_timeout=120).run()
assert not app.exception, app.exception
assert {"protonet", "relation"} <= entries(app), entries(app)
app.radio[0].set_value("transductive, train classes").run()  # MAML ranks in its own protocol class
assert not app.exception and "maml" in entries(app), entries(app)
PY

# `tfmeta verify` of a shipped record from the installed package, which holds no weights: they come by
# sha256 from a server on this machine serving the checkout's leaderboard/weights, into the cache. ProtoNet
# on Lake's 20 episodes is the cheapest shipped record to re-evaluate.
"$work/venv/bin/python" -m http.server 8766 --bind 127.0.0.1 --directory "$repo/leaderboard/weights" \
  >"$work/weights.log" 2>&1 &
weights_pid=$!
for _ in $(seq 30); do
  "$work/venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8766/')" \
    2>/dev/null && break
  sleep 0.2
done
shipped="$("$work/venv/bin/python" -c 'from tfmeta.records import locations; print(locations.shipped_results_dir())')"
lake=("$shipped"/omniglot_lake-protonet-20w1s-standard-seed0-*.json)
TFMETA_WEIGHTS_URL=http://127.0.0.1:8766 "$tfmeta" verify "${lake[0]}" | grep "^verified: " >/dev/null
sha="$("$work/venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["weights"]["sha256"])' "${lake[0]}")"
ls "$work/cache/weights/$sha.weights.h5" >/dev/null  # downloaded into the cache, checked
kill "$weights_pid" && weights_pid=

if [ "$(find "$work/venv" -type f -not -name '*.pyc' | wc -l)" -gt "$installed_files" ]; then
  find "$work/venv" -type f -newer "$wheel" -not -name '*.pyc' | grep -v __pycache__ | tail >&2
  echo "files were written inside the installed package" >&2; exit 1
fi


"$tfmeta" leaderboard --port 8765 >"$work/board.log" 2>&1 &
board_pid=$!
for _ in $(seq 60); do
  if "$work/venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/_stcore/health')" 2>/dev/null; then
    echo "wheel smoke: list, run, submit, optimizer-track (shipped weights), verify (downloaded weights) and leaderboard work outside the checkout"
    exit 0
  fi
  sleep 1
done
cat "$work/board.log" >&2
echo "the leaderboard did not answer on 127.0.0.1:8765" >&2
exit 1
