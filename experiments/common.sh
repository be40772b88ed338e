# Shared by the study scripts (sourced, not run): the variants' training recipes and one
# training run with its skip-if-done, timing and `done` file. Needs OUT and PY set.

# The strong-* variants' shared overrides: initial conditions users have, selection against the
# best handcrafted schedule (pre-registered in docs/lab/2026-12-05-study-plan.md).
STRONG="+env.scenario.task_config.lr_focus=[3.0e-4,3.0e-3] +env.scenario.task_config.focus_fraction=0.5 \
+env.scenario.validation.reference=best_schedule +env.scenario.validation.select=[advantage,at_default,tuned]"

# The Hydra overrides of a variant: its environment (scenario, features, reward), then its budget.
variant_env() {
  case $1 in
    paper) echo "env/scenario=mlp2-digits" ;;
    # the larger validation split alone: the paper's recipe with digits split 1,007 / 431 /
    # 359 (val=0.3) instead of 1,294 / 144 / 359: the reward's accuracy steps shrink from 0.69
    # to 0.23 points (the test split, and so every evaluation, is unchanged)
    paper-val) echo "env/scenario=mlp2-digits env.scenario.env_kwargs.dataset=\"digits:val=0.3\"" ;;
    pool-paper) echo "env/scenario=pool-8x8" ;;
    pool-robust) echo "env/scenario=pool-8x8 env.kwargs.features=robust" ;;
    pool-robust-episode) echo "env/scenario=pool-8x8 env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode" ;;
    deep-robust) echo "env/scenario=pool-deep env.kwargs.features=robust" ;;
    deep-robust-episode) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode" ;;
    # per-option measurements on pool-deep: the paper's (full) features instead of
    # robust, and the validation-loss reward term (weight 0.1) on top of the episode reward
    deep-full-episode) echo "env/scenario=pool-deep env.kwargs.features=full env.kwargs.reward_counterfactual=constant_episode" ;;
    deep-robust-episode-loss) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode env.kwargs.reward_loss_weight=0.1" ;;
    # the paper's ablations of deep-robust-episode (Table 2 of the shipped policy's configuration)
    deep-lr_only-episode) echo "env/scenario=pool-deep env.kwargs.features=lr_only env.kwargs.reward_counterfactual=constant_episode" ;;
    deep-timestep_only-episode) echo "env/scenario=pool-deep env.kwargs.features=timestep_only env.kwargs.reward_counterfactual=constant_episode" ;;
    deep-single_agent-episode) echo "env/scenario=pool-deep env.kwargs.features=robust_single_agent env.kwargs.single_agent=True env.kwargs.reward_counterfactual=constant_episode" ;;
    # A policy worth choosing over a cosine schedule (docs/lab/2026-12-05-study-plan.md): half the
    # episodes start from LRs users start with, the validation suite scores against the best
    # handcrafted schedule (grid mean, at 1e-3 and tuned; their mean selects), and the reward's
    # reference episode is a constant LR (control), a cosine decay, or a cosine decay with the
    # rich action table (x2, /2 and larger steps: an anneal the table can follow); strong-cosine-decay
    # adds env.kwargs.lr_decay=cosine (every LR takes a cosine step before each action: the no-op
    # is the reference's cosine decay, and the policy learns where to depart from it).
    strong-constant) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode $STRONG" ;;
    strong-cosine) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=cosine_episode $STRONG" ;;
    strong-cosine-rich|strong-cosine-rich-long) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=cosine_episode env.kwargs.action_table=rich $STRONG" ;;
    strong-cosine-decay|strong-cosine-decay-long) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=cosine_episode env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG" ;;
    # the per-step bar: the reward's reference episode is WSD (held at its mean over each
    # decision), the validation suite's schedules run at every SGD step as the benchmark's do
    wsd-decay) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay with the LR moving within each decision: the no-op follows a cosine at every SGD
    # step (lr_decay=cosine_step) and the reward's WSD reference runs per SGD step too
    wsd-step) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=step env.kwargs.action_table=rich env.kwargs.lr_decay=cosine_step $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-step with WSD as the base instead of the cosine: the no-op holds its LR for four fifths
    # of the episode, then decays linearly to 0 at every SGD step (lr_decay=wsd_step)
    wsd-base) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=step env.kwargs.action_table=rich env.kwargs.lr_decay=wsd_step $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay with a third of its episodes from high initial LRs: 40% from [3e-4, 3e-3] (users'
    # LRs), 30% from [3e-3, 3e-2] (starts the suite's 1e-2 cells have, from which WSD's warm-up
    # wins), the rest from the scenario's [1e-5, 1e-1]
    wsd-decay-high) echo "env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine +env.scenario.task_config.lr_focus=[[3.0e-4,3.0e-3],[3.0e-3,3.0e-2]] +env.scenario.task_config.focus_fraction=[0.4,0.3] +env.scenario.validation.reference=best_schedule +env.scenario.validation.select=[advantage,at_default,tuned] +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay on the third pool (pool-deep-28): pool-deep with 28x28 teacher groups and a cnn3
    # group, and a suite with a 28x28 MLP task and a 3-layer CNN task
    wsd-decay-28) echo "env/scenario=pool-deep-28 env.kwargs.features=robust env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay-28 with the robust_input features: every agent also sees the first layer's weight
    # variance (how wide the input is), not only the first layer
    wsd-decay-28-input) echo "env/scenario=pool-deep-28 env.kwargs.features=robust_input env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay-28-input on the fourth pool (pool-deep-28-vit): pool-deep-28 with ViT groups
    # (attention layers) and a ViT suite task
    wsd-decay-28-vit) echo "env/scenario=pool-deep-28-vit env.kwargs.features=robust_input env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay-28-vit on the fifth pool (pool-deep-28-frame): pool-deep-28-vit with MLP groups
    # and a suite task on MNIST-like framed 28x28 digits
    wsd-decay-28-frame) echo "env/scenario=pool-deep-28-frame env.kwargs.features=robust_input env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    # wsd-decay-28-frame on the sixth pool (pool-deep-28-frame-lm): pool-deep-28-frame with
    # byte-level LM groups and an LM suite task on synthetic babble text
    wsd-decay-28-frame-lm) echo "env/scenario=pool-deep-28-frame-lm env.kwargs.features=robust_input env.kwargs.reward_counterfactual=wsd_episode env.kwargs.reward_reference_hold=mean env.kwargs.action_table=rich env.kwargs.lr_decay=cosine $STRONG +env.scenario.validation.schedule_resolution=sgd_step" ;;
    *) echo "unknown variant $1 (paper, paper-val, pool-paper, pool-robust, pool-robust-episode, deep-robust, deep-robust-episode," \
         "deep-full-episode, deep-robust-episode-loss, deep-lr_only-episode, deep-timestep_only-episode," \
         "deep-single_agent-episode, strong-constant, strong-cosine, strong-cosine-rich, strong-cosine-rich-long," \
         "strong-cosine-decay, strong-cosine-decay-long, wsd-decay, wsd-step, wsd-base, wsd-decay-high, wsd-decay-28, wsd-decay-28-input," \
         "wsd-decay-28-vit, wsd-decay-28-frame, wsd-decay-28-frame-lm)" >&2; return 2 ;;
  esac
}

variant_args() {
  local env
  env=$(variant_env "$1") || return 2
  case $1 in
    paper|paper-val) echo "$env system.total_timesteps=12800" ;;
    # twice the budget (the suite checks every 2 of the 10 evaluation steps, as the others)
    *-long) echo "$env arch.num_envs=2 system.total_timesteps=25600 env.scenario.validation.every=2" ;;
    *) echo "$env arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
  esac
}

# train_run UID OVERRIDES...: `mava_ganno.train` into $OUT/UID (log $OUT/UID.log), skipped when
# $OUT/UID/done exists; `done` holds the wall time in seconds after a successful run. A run cut
# off after a checkpoint (a killed process, a lost machine) goes on from it (`--resume`, the same
# overrides; its log appended to) and `done` then holds the seconds of the resumed part only.
train_run() {
  local uid=$1 start rc resume=()
  shift
  if [ -f "$OUT/$uid/done" ]; then echo "skip $uid (done)"; return 0; fi
  if compgen -G "$OUT/$uid/checkpoints/rec_ippo/$uid/ckpt_*/meta.json" > /dev/null; then
    resume=(--resume "logger.checkpointing.load_args.checkpoint_uid=$uid")
    echo "$(date +%T) resume $uid"
  else
    echo "$(date +%T) start $uid"
    : > "$OUT/$uid.log"
  fi
  start=$(date +%s)
  $PY -u -m mava_ganno.train "${resume[@]}" "$@" arch.num_evaluation=10 arch.num_eval_episodes=0 \
    logger.progress_bar=False logger.base_exp_path="$OUT/$uid" \
    logger.checkpointing.save_args.checkpoint_uid="$uid" >> "$OUT/$uid.log" 2>&1
  rc=$?
  echo "$(date +%T) end $uid rc=$rc $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] && echo "$(( $(date +%s) - start ))" > "$OUT/$uid/done"
  return $rc
}
