#!/bin/bash
# Fifth pilot, amended: two 28x28 teacher tasks, after run.sh.
cd /tmp/wt21
while pgrep -f pilot-tasks/run.sh > /dev/null; do sleep 15; done
export PYTHONPATH=/tmp/wt21
PY=/work/main/.venv/bin/python
source experiments/common.sh
SEEDS=${SEEDS:-94,95,96,97,98,99,100,101}
OUTD=results/pilot-tasks
run() {
  local name=$1 kw=$2 s=$(date +%s) rc
  $PY experiments/rescore_validation.py --split 2 docs/results/study-wsd-decay-clone-above-3seeds/clone_s5 -- $(variant_env wsd-decay) env.kwargs.action_table=rich "env.scenario.validation.seeds=[$SEEDS]" 'env.scenario.validation.modes=[greedy]' '~env.scenario.validation.tasks' "+env.scenario.validation.tasks={$name:{env_kwargs:{$kw}}}" > $OUTD/${name}_${SEEDS//,/-}.md 2> $OUTD/${name}_${SEEDS//,/-}.log
  rc=$?
  echo "$(date +%T) $name rc=$rc $(( $(date +%s) - s )) s"
}
run mlp3-wide-teacher16-28 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=16,dim=28x28"'
run mlp3-wide-teacher17-28-short 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=17,dim=28x28",sl_steps:1000'
