#!/usr/bin/env bash
# Round 26: keep what the chain has finished in this folder (git tracks it), run every 5 minutes
# beside the chain from the main checkout (experiments/keep_records.py says what is kept):
#   bash docs/results/study-wsd-decay-28-frame-lm/keep.sh
# Restore on a new machine: README.txt.
cd "$(dirname "$0")/../../.." || exit 1
/work/main/.venv/bin/python experiments/keep_records.py /tmp/wt26/results/study-wsd-decay-28-frame-lm \
  docs/results/study-wsd-decay-28-frame-lm --cache /work/main/results/reference_cache
