#!/usr/bin/env bash
# PerMix-RLVR with verl 0.9: GRPO on Qwen2.5-1.5B-Instruct, GSM8K (or MATH), vLLM rollout, personas mixed on line.
#
#   pip install "permix-plugins[verl]" "verl[vllm]==0.9.1"       # on the GPU machine
#     (plain `verl` is not enough: main_ppo's default trainer.use_v1=true imports transfer_queue, which
#      verl[vllm] brings through verl[verl-core]; verl 0.9.1 verl/trainer/main_ppo.py:183 and :137)
#   bash examples/verl/run_grpo_permix.sh                         # GSM8K, one node of 4 GPUs
#   PROBLEMS=math_train.jsonl TEST_PROBLEMS=math500 MAX_RESPONSE_LENGTH=2048 bash examples/verl/run_grpo_permix.sh
#   MIX=static bash examples/verl/run_grpo_permix.sh              # personas written into the parquet files instead
#   bash examples/verl/run_grpo_permix.sh trainer.total_training_steps=20   # extra Hydra overrides go last
#
# MATH training problems: any JSONL/parquet with problem + solution (or answer) columns, e.g.
#   python -c "from datasets import load_dataset; load_dataset('DigitalLearningGmbH/MATH-lighteval', split='train').to_json('math_train.jsonl')"
#
# The permix lines below are what `permix verl-overrides --epochs 15 --val-personas lottery --val-every-persona`
# prints (`permix verl-overrides --static` for MIX=static). What to watch while it trains:
#   val-core/permix/<persona>/acc/mean@1   accuracy under each of the 7 lottery personas, on the same questions
#   critic/score/mean                      training reward (persona-mixed prompts)
set -xeuo pipefail

MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-1.5B-Instruct}
PROBLEMS=${PROBLEMS:-gsm8k}                 # train split of: gsm8k, synthetic, or a .jsonl/.parquet file
TEST_PROBLEMS=${TEST_PROBLEMS:-}            # default: the test split of PROBLEMS (needed when PROBLEMS is a file)
DATA_DIR=${DATA_DIR:-$HOME/data/permix}
MIX=${MIX:-online}                          # online: data.custom_cls mixes as verl loads; static: mixed parquet
PERSONAS=${PERSONAS:-train}                 # training persona pool (built-in name or a persona file)
PERSONA_PROB=${PERSONA_PROB:-0.5}           # share of training prompts with a persona; 0 = the plain-RLVR baseline
VAL_PERSONAS=${VAL_PERSONAS:-lottery}       # every validation question is asked under each of these personas
EPOCHS=${EPOCHS:-15}
VAL_MAX_SAMPLES=${VAL_MAX_SAMPLES:--1}      # validation questions (before the x7 persona expansion); -1 = all
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-1024}
NGPUS=${NGPUS:-4}
EXPERIMENT=${EXPERIMENT:-qwen2.5-1.5b-permix-p${PERSONA_PROB}}
OUT=${OUT:-$HOME/permix_runs/$EXPERIMENT}

########################### data ###########################
TEST_FLAG=()
if [ -n "$TEST_PROBLEMS" ]; then TEST_FLAG=(--test-problems "$TEST_PROBLEMS"); fi

if [ "$MIX" = online ]; then
    # Plain rows; PersonaMixRLHFDataset gives them personas as verl loads them (before the overlong filter).
    permix export verl --problems "$PROBLEMS" "${TEST_FLAG[@]}" --persona-prob 0 --out "$DATA_DIR/plain"
    TRAIN_FILE=$DATA_DIR/plain/train.parquet
    VAL_FILE=$DATA_DIR/plain/test.parquet
else
    permix export verl --problems "$PROBLEMS" "${TEST_FLAG[@]}" --personas "$PERSONAS" --persona-prob "$PERSONA_PROB" \
        --test-personas "$VAL_PERSONAS" --test-every-persona --out "$DATA_DIR/mixed"
    TRAIN_FILE=$DATA_DIR/mixed/train.parquet
    VAL_FILE=$DATA_DIR/mixed/test.parquet
fi

########################### permix ###########################
# On line: EPOCHS copies of the data, each with fresh persona draws, in one verl epoch (verl has no per-epoch
# hook for datasets); validation asks every question under every VAL_PERSONAS persona.
ONLINE=(
    data.custom_cls.path=pkg://permix_plugins.adapters.verl
    data.custom_cls.name=PersonaMixRLHFDataset
    +data.permix.pool=${PERSONAS}
    +data.permix.persona_prob=${PERSONA_PROB}
    +data.permix.seed=0
    +data.permix.placement=system
    +data.permix.epochs=${EPOCHS}
    +data.permix.val.pool=${VAL_PERSONAS}
    +data.permix.val.every_persona=true
    trainer.total_epochs=1
)
STATIC=(
    trainer.total_epochs=${EPOCHS}
)
REWARD=(
    reward.custom_reward_function.path=pkg://permix_plugins.math
    reward.custom_reward_function.name=compute_score
    reward.reward_manager.name=naive
)
if [ "$MIX" = online ]; then PERMIX=("${ONLINE[@]}"); else PERMIX=("${STATIC[@]}"); fi

########################### verl ###########################
DATA=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    data.train_files=${TRAIN_FILE}
    data.val_files=${VAL_FILE}
    data.train_batch_size=512
    data.max_prompt_length=1024
    data.max_response_length=${MAX_RESPONSE_LENGTH}
    data.filter_overlong_prompts=True
    data.filter_overlong_prompts_workers=8
    data.truncation=error
    data.seed=0
    data.val_max_samples=${VAL_MAX_SAMPLES}
)
MODEL=(
    actor_rollout_ref.model.path=${MODEL_PATH}
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.model.enable_gradient_checkpointing=True
)
ACTOR=(
    actor_rollout_ref.actor.optim.lr=1e-6
    actor_rollout_ref.actor.ppo_mini_batch_size=128
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=16
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef=0.001
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.fsdp_config.param_offload=False
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=False
)
ROLLOUT=(
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=5
    actor_rollout_ref.rollout.tensor_model_parallel_size=1
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=32
    actor_rollout_ref.rollout.val_kwargs.temperature=0
    actor_rollout_ref.rollout.val_kwargs.do_sample=False
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=32
    actor_rollout_ref.ref.fsdp_config.param_offload=True
)
TRAINER=(
    trainer.critic_warmup=0
    trainer.logger='["console","wandb"]'
    trainer.project_name=permix_verl
    trainer.experiment_name=${EXPERIMENT}
    trainer.default_local_dir=${OUT}/checkpoints
    trainer.validation_data_dir=${OUT}/validation
    trainer.n_gpus_per_node=${NGPUS}
    trainer.nnodes=1
    trainer.save_freq=20
    trainer.test_freq=10
    trainer.val_before_train=True
)

python3 -m verl.trainer.main_ppo \
    "${DATA[@]}" \
    "${MODEL[@]}" \
    "${ACTOR[@]}" \
    "${ROLLOUT[@]}" \
    "${TRAINER[@]}" \
    "${PERMIX[@]}" \
    "${REWARD[@]}" \
    "$@"
