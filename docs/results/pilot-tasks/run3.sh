#!/bin/bash
# Fifth pilot, second measurement on seeds 102-109: the four tasks at -0.2 or lower on 94-101.
cd /tmp/wt21
export PYTHONPATH=/tmp/wt21
PY=/work/main/.venv/bin/python
source experiments/common.sh
SEEDS=102,103,104,105,106,107,108,109
OUTD=results/pilot-tasks
run() {
  local name=$1 kw=$2 s=$(date +%s) rc
  $PY experiments/rescore_validation.py --split 2 docs/results/study-wsd-decay-clone-above-3seeds/clone_s5 -- $(variant_env wsd-decay) env.kwargs.action_table=rich "env.scenario.validation.seeds=[$SEEDS]" 'env.scenario.validation.modes=[greedy]' '~env.scenario.validation.tasks' "+env.scenario.validation.tasks={$name:{env_kwargs:{$kw}}}" > $OUTD/${name}_${SEEDS//,/-}.md 2> $OUTD/${name}_${SEEDS//,/-}.log
  rc=$?
  echo "$(date +%T) $name rc=$rc $(( $(date +%s) - s )) s"
}
run mlp3-wide-teacher16-28 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=16,dim=28x28"'
run mlp3-wide-teacher17-28-short 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=17,dim=28x28",sl_steps:1000'
run vit2-digits9-short 'network:vit2,width:16,hidden:64,dataset:"digits:shift=1,perm=9,val=0.3",sl_steps:1000'
run cnn3-digits8 'network:cnn3,width:16,dataset:"digits:shift=1,perm=8,val=0.3"'
