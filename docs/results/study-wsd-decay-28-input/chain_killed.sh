#!/usr/bin/env bash
# Round 23: demonstrations and clones (round 22's command, VARIANT=wsd-decay-28-input), rule 1'
# (8 seeds, the four clones), rule 2 (highest score, ties to the higher worst), rule 3's
# candidate part (fresh seeds 118-125, --split 2).
set -u
cd /tmp/wt23
export PYTHONPATH=/tmp/wt23 JAX_COMPILATION_CACHE_DIR=/tmp/wt23/results/study-wsd-decay-28-input/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-input
. experiments/common.sh
PYTHON=$PY VARIANT=wsd-decay-28-input TABLE=rich SCHEDULES=warmup_cosine,onecycle,cosine,wsd,linear INITIAL_LRS=1e-4,1e-3,3e-3,1e-2 \
  PEAKS_ABOVE_START=1 KEEP_TOP_BY=start DEMO_SEEDS=0,1,2 bash experiments/study_demonstrations.sh $OUT "0 1 2 3" "demos clone" > $OUT/run.log 2>&1
for s in 0 1 2 3; do [ -f $OUT/clone_s$s/policy.json ] || { echo "clone_s$s missing"; exit 1; }; done
ENV="$(variant_env wsd-decay-28-input) env.kwargs.action_table=rich"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py $OUT/clone_s0 $OUT/clone_s1 $OUT/clone_s2 $OUT/clone_s3 -- $ENV \
  'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]' > $OUT/rescore_clones.jsonl 2> $OUT/rescore_clones.err
rc=$?
echo "$(date +%T) rule1' rc=$rc $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || exit 1
CAND=$($PY - <<PYEOF
import json
rows = [json.loads(l) for l in open("$OUT/rescore_clones.jsonl") if l.startswith("{")]
assert len(rows) == 4, len(rows)
best = max(rows, key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]))
print(best["policy"])
PYEOF
)
echo "candidate: $CAND" | tee $OUT/rule2.txt
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --split 2 $CAND -- $ENV \
  'env.scenario.validation.seeds=[118,119,120,121,122,123,124,125]' 'env.scenario.validation.modes=[greedy]' > $OUT/rule3.md 2> $OUT/rule3.err
rc=$?
echo "$(date +%T) rule3 candidate rc=$rc $(( $(date +%s) - start )) s"
