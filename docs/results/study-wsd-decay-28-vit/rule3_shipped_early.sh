#!/usr/bin/env bash
# Round 25, rule 3's shipped-policy command started beside rule 1' (the chain's own rule 3 runs it
# again later, reading the reference this call saves task by task): the same command and seeds.
set -u
cd /tmp/wt25
export PYTHONPATH=/tmp/wt25 JAX_COMPILATION_CACHE_DIR=/tmp/wt25/results/study-wsd-decay-28-vit/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-vit
CACHE=/work/main/results/reference_cache
. experiments/common.sh
ENV="$(variant_env wsd-decay-28-vit) env.kwargs.action_table=rich"
SEEDS='env.scenario.validation.seeds=[134,135,136,137,138,139,140,141]'
SHIPPED=$(cat $OUT/shipped.txt)
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $SHIPPED -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_shipped_early.md 2> $OUT/rule3_shipped_early.err
echo "$(date +%T) rule3 shipped early ($SHIPPED) rc=$? $(( $(date +%s) - start )) s"
