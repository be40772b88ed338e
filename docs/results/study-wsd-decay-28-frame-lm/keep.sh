#!/usr/bin/env bash
# Round 26: copy what the chain has finished out of the worktree into this folder (git keeps it),
# so a lost machine loses no finished step. Rerunnable; run it every few minutes beside the chain:
#   bash docs/results/study-wsd-decay-28-frame-lm/keep.sh     (from the main checkout)
# Kept: each finished demonstration group (compressed, keep_parts.py), each finished clone's
# policy folder, the score rows (finished .jsonl and the rows of one cut off, .part), the rule
# files, the logs, and the suite's reference cache (the schedules' runs, saved after each task by
# rescore_validation.py; /work/main/results/reference_cache). Restore on a new machine: README.txt.
set -u
SRC=/tmp/wt26/results/study-wsd-decay-28-frame-lm
DST=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-/work/main/.venv/bin/python}
[ -d "$SRC/demos.npz.parts" ] && $PY "$DST/keep_parts.py" "$SRC/demos.npz.parts" "$DST/demos.npz.parts"
for c in "$SRC"/clone_s*/; do
  c=${c%/}
  [ -f "$c/policy.json" ] && [ ! -f "$DST/$(basename "$c")/policy.json" ] && cp -r "$c" "$DST/" && echo "kept $(basename "$c")"
done
for f in "$SRC"/*.jsonl "$SRC"/*.part "$SRC"/rule*.md "$SRC"/rl_seeds.txt "$SRC"/rule2.txt "$SRC"/*.log; do
  [ -f "$f" ] && ! cmp -s "$f" "$DST/$(basename "$f")" && cp "$f" "$DST/" && echo "kept $(basename "$f")"
done
mkdir -p "$DST/reference_cache"
for f in /work/main/results/reference_cache/*.npz; do
  case $f in *.tmp.npz) continue ;; esac
  [ -f "$f" ] && ! cmp -s "$f" "$DST/reference_cache/$(basename "$f")" && cp "$f" "$DST/reference_cache/" && echo "kept reference_cache/$(basename "$f")"
done
exit 0
