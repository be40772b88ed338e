#!/usr/bin/env bash
# Round 24, rule 3 rerun: rules.sh's rule-3 block stopped when the machine went down after rule 2
# (rule3_candidate.md was empty); the same two commands on the candidate chosen in rule2.txt.
set -u
cd /tmp/wt24
export PYTHONPATH=/tmp/wt24 JAX_COMPILATION_CACHE_DIR=/tmp/wt24/results/study-wsd-decay-28-input-anchor/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-input-anchor
SHIPPED=docs/results/study-wsd-decay-28-input/clone_s3
CACHE=/work/main/results/reference_cache
. experiments/common.sh
ENV="$(variant_env wsd-decay-28-input) env.kwargs.action_table=rich"
CAND=$OUT/clone-rl_s1/checkpoints/rec_ippo/clone-rl_s1/policy_best
MODE=greedy
SEEDS='env.scenario.validation.seeds=[126,127,128,129,130,131,132,133]'
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $CAND -- $ENV "$SEEDS" "env.scenario.validation.modes=[$MODE]" \
  > $OUT/rule3_candidate.md 2> $OUT/rule3_candidate.err
rc=$?
echo "$(date +%T) rule3 candidate rc=$rc $(( $(date +%s) - start )) s"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $SHIPPED -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_shipped.md 2> $OUT/rule3_shipped.err
rc=$?
echo "$(date +%T) rule3 shipped rc=$rc $(( $(date +%s) - start )) s"
echo "$(date +%T) rules done"
