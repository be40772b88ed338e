#!/usr/bin/env bash
# The wheel (a non-editable build, as `pip install mava_ganno` gets it) must carry the shipped
# policy: mava_ganno/policies/default/{policy.json,params.msgpack,MODEL_CARD.md},
# package data listed in setup.py. Built with the CI venv's pip from a copy of the project's
# files (tracked and not ignored: what a checkout has), so no build/ folder is reused or left.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/src" "$TMP/wheel"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$TMP/src"
if ! .venv/bin/python -m pip wheel -q --no-deps "$TMP/src" -w "$TMP/wheel" > "$TMP/build.log" 2>&1; then
    tail -30 "$TMP/build.log"; echo "pip wheel failed"; exit 1
fi
WHEEL=$(ls "$TMP"/wheel/mava_ganno-*.whl)
.venv/bin/python -m zipfile -l "$WHEEL" > "$TMP/contents.txt"
status=0
for name in policy.json params.msgpack MODEL_CARD.md; do
    if grep -q "^mava_ganno/policies/default/$name " "$TMP/contents.txt"; then
        echo "$(basename "$WHEEL") has mava_ganno/policies/default/$name"
    else
        echo "$(basename "$WHEEL") lacks mava_ganno/policies/default/$name (package_data in setup.py)"
        status=1
    fi
done
exit $status
