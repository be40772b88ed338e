#!/usr/bin/env bash
# An editable install made by pip 23.2 (what pyenv's Python 3.11 venvs come with) must resolve
# pkg://mava_ganno.configs and pkg://mava_ganno.mava.configs, as Mava's Hydra needs. Without
# pyproject.toml's [build-system] that pip (with `wheel` present) falls back to
# `setup.py develop`, which drops the configs/ mapping. The project is installed without its
# dependencies; they are borrowed from the CI venv (.venv) for the import check only.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OLD=$TMP/venv
python3 -m venv "$OLD"
"$OLD/bin/python" -m pip install -q "pip==23.2.1" "setuptools==65.5.0" wheel
"$OLD/bin/python" -m pip install -q --no-deps -e . 2>&1 | tee "$OLD.log" | tail -3
if grep -q "setup.py develop" "$OLD.log"; then echo "pip 23.2 fell back to setup.py develop"; exit 1; fi
SITE=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
(cd "$OLD/.." && PYTHONPATH="$SITE" "$OLD/bin/python" - <<'PY'
import importlib.resources as r
import mava_ganno
assert (r.files("mava_ganno.configs") / "env" / "ganno.yaml").is_file(), "mava_ganno.configs not found"
assert (r.files("mava_ganno.mava.configs") / "mava_host" / "ganno.yaml").is_file(), "mava_ganno.mava.configs not found"
print("pip 23.2 editable install resolves mava_ganno.configs from", mava_ganno.__file__)
PY
)
