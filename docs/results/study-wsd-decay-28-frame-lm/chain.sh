#!/usr/bin/env bash
# Round 26 (pre-registered, study plan "Twenty-sixth round", as amended: pool-deep-28-frame-lm,
# variant wsd-decay-28-frame-lm). Rerunnable: every step skips what is done (demos keep each
# finished group in demos.npz.parts; clones, RL runs and scores are skipped once written).
#   demos + clones s0-s3 (round 25's command), rule 1' (the four clones and the policy shipped
#   at this checkout, seeds 0-7, greedy), RL with the KL anchor from the three best clones by
#   rule 1' (ties to the higher worst), each RL run's policy_best scored the same way, rule 2
#   (highest score among the seven, ties to the higher worst), rule 3 (fresh seeds 142-149,
#   --split 2, greedy): the candidate, then a copy of the policy shipped in the main checkout
#   when rule 3 runs.
set -u
cd /tmp/wt26
export PYTHONPATH=/tmp/wt26 JAX_COMPILATION_CACHE_DIR=/tmp/wt26/results/study-wsd-decay-28-frame-lm/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
V=wsd-decay-28-frame-lm
OUT=results/study-$V
SHIPPED_NOW=mava_ganno/policies/default
CACHE=/work/main/results/reference_cache
. experiments/common.sh
echo "$(date +%T) start"
PYTHON=$PY VARIANT=$V TABLE=rich SCHEDULES=warmup_cosine,onecycle,cosine,wsd,linear INITIAL_LRS=1e-4,1e-3,3e-3,1e-2 \
  PEAKS_ABOVE_START=1 KEEP_TOP_BY=start DEMO_SEEDS=0,1,2 bash experiments/study_demonstrations.sh $OUT "0 1 2 3" "demos clone" >> $OUT/run.log 2>&1
for s in 0 1 2 3; do [ -f $OUT/clone_s$s/policy.json ] || { echo "clone_s$s missing"; exit 1; }; done
ENV="$(variant_env $V) env.kwargs.action_table=rich"
GREEDY8=('env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]')
score() {  # score NAME POLICY...: seeds 0-7, greedy, one call -> $OUT/NAME.jsonl (written when complete)
  local name=$1 start rc
  shift
  [ -s $OUT/$name.jsonl ] && { echo "skip $name (done)"; return 0; }
  start=$(date +%s)
  # shellcheck disable=SC2086
  $PY experiments/rescore_validation.py --reference-cache $CACHE "$@" -- $ENV "${GREEDY8[@]}" > $OUT/$name.part 2> $OUT/$name.err
  rc=$?
  echo "$(date +%T) $name rc=$rc $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] && mv $OUT/$name.part $OUT/$name.jsonl
  return $rc
}
score rescore_clones $OUT/clone_s0 $OUT/clone_s1 $OUT/clone_s2 $OUT/clone_s3 $SHIPPED_NOW || exit 1
best() {  # best N FILES...: the policies of the N highest scores among the rows of this round's runs
  $PY - "$@" <<'PYEOF'
import json, sys
n, files = int(sys.argv[1]), sys.argv[2:]
rows = [json.loads(l) for f in files for l in open(f) if l.startswith("{")]
rows = [r for r in rows if "study-wsd-decay-28-frame-lm/clone" in r["policy"]]
rows.sort(key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]), reverse=True)
print(" ".join(r["policy"] for r in rows[:n]))
PYEOF
}
RL_SEEDS=$(for p in $(best 3 $OUT/rescore_clones.jsonl); do echo -n "${p##*clone_s} "; done)
echo "rl from clones: $RL_SEEDS" | tee $OUT/rl_seeds.txt
PYTHON=$PY VARIANT=$V TABLE=rich KL_UPDATES=null bash experiments/study_demonstrations.sh $OUT "$RL_SEEDS" rl >> $OUT/run.log 2>&1
for s in $RL_SEEDS; do
  p=$OUT/clone-rl_s$s/checkpoints/rec_ippo/clone-rl_s$s/policy_best
  [ -f $OUT/clone-rl_s$s/done ] && [ -f $p/policy.json ] || { echo "clone-rl_s$s missing"; exit 1; }
  score rescore_rl_s$s $p || exit 1
done
CAND=$(best 1 $OUT/rescore_clones.jsonl $OUT/rescore_rl_s*.jsonl)
echo "candidate: $CAND" | tee $OUT/rule2.txt
SEEDS='env.scenario.validation.seeds=[142,143,144,145,146,147,148,149]'
rule3() {  # rule3 NAME POLICY
  [ -s $OUT/$1.md ] && { echo "skip $1 (done)"; return 0; }
  local start rc
  start=$(date +%s)
  # shellcheck disable=SC2086
  $PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $2 -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
    > $OUT/$1.part 2> $OUT/$1.err
  rc=$?
  echo "$(date +%T) $1 ($2) rc=$rc $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] && mv $OUT/$1.part $OUT/$1.md
  return $rc
}
rule3 rule3_candidate $CAND || exit 1
[ -d $OUT/shipped_at_rule3 ] || cp -r /work/main/mava_ganno/policies/default $OUT/shipped_at_rule3
rule3 rule3_shipped $OUT/shipped_at_rule3 || exit 1
echo "$(date +%T) rules done"
