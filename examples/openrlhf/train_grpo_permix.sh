#!/usr/bin/env bash
# PerMix-RLVR with OpenRLHF 0.11: GRPO (group-normalised advantages, N samples per prompt, vLLM rollouts)
# on persona-mixed GSM8K prompts, rewarded by permix-plugins' verifiable math reward, evaluated per held-out
# persona.
#
#   pip install "permix-plugins[openrlhf]" "openrlhf[vllm]==0.11.2"    # on every node (the reward is a path)
#   bash examples/openrlhf/train_grpo_permix.sh                         # one node, 8 GPUs, hybrid engine
#   MODEL=Qwen/Qwen2.5-7B-Instruct bash examples/openrlhf/train_grpo_permix.sh --logger.wandb.key "$KEY"
#
# Extra arguments are appended to the OpenRLHF command (a repeated flag overrides the one below).
# Environment: MODEL, GPUS, PERSONA_PROB (0 = the plain-RLVR baseline through the same pipeline), PROBLEMS,
# EVAL_LIMIT, DATA_DIR, SAVE_DIR. PERMIX_PRINT_ARGS=1 prints the export and training arguments and exits.
#
# Metrics to watch ("train/" in W&B / TensorBoard): accuracy and reward; no_answer (format failures);
# bad_gold (must stay 0: the labels reach the reward); timeout, error, no_completion (should stay ~0);
# persona_correct / persona_rate (accuracy on persona prompts). Eval ("eval/"): eval_<persona>_pass1 and
# _pass4 for each held-out persona and for `none` (no persona); their spread is the policy's persona
# stability.
set -euo pipefail

MODEL="${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}"
GPUS="${GPUS:-8}"
PERSONA_PROB="${PERSONA_PROB:-0.5}"
PROBLEMS="${PROBLEMS:-gsm8k}"  # a source with train and test splits: gsm8k or synthetic
EVAL_LIMIT="${EVAL_LIMIT:-50}"  # eval problems; each is asked under every held-out persona and with none
# Absolute paths: OpenRLHF reads the data and writes checkpoints from Ray actors, which may run elsewhere.
DATA_DIR="$(realpath -m "${DATA_DIR:-data/permix-openrlhf}")"
SAVE_DIR="$(realpath -m "${SAVE_DIR:-checkpoints/permix-grpo-p${PERSONA_PROB}}")"

TRAIN_FILE="$DATA_DIR/${PROBLEMS}-train-p${PERSONA_PROB}.jsonl"
EVAL_FILE="$DATA_DIR/${PROBLEMS}-eval-every-persona-${EVAL_LIMIT}.jsonl"
REWARD_FILE="$(permix openrlhf-reward-path)"

# Training prompts: each gets a persona from the `train` pool with probability PERSONA_PROB (seeded).
EXPORT_TRAIN=(export openrlhf --problems "$PROBLEMS" --split train --personas train
              --persona-prob "$PERSONA_PROB" --seed 0 --out "$TRAIN_FILE")
# Eval prompts: held-out `eval` personas, every problem under every persona (datasource = persona id).
EXPORT_EVAL=(export openrlhf --problems "$PROBLEMS" --split test --personas eval --every-persona
             --limit "$EVAL_LIMIT" --out "$EVAL_FILE")

TRAIN_ARGS=(
  # Placement: actor, reference model and vLLM engines share the GPUs and sleep in turn (hybrid engine).
  --actor.num_nodes 1 --actor.num_gpus_per_node "$GPUS"
  --ref.num_nodes 1 --ref.num_gpus_per_node "$GPUS"
  --vllm.num_engines "$GPUS" --vllm.tensor_parallel_size 1 --vllm.gpu_memory_utilization 0.6
  --vllm.sync_backend nccl --vllm.enable_sleep --ds.enable_sleep --train.colocate_all
  --ds.zero_stage 3 --ds.param_dtype bf16 --ds.packing_samples --actor.gradient_checkpointing_enable

  --actor.model_name_or_path "$MODEL"

  # Data: chat messages (persona as system message) rendered with the model's chat template; JSON labels.
  --data.prompt_dataset "$TRAIN_FILE" --data.input_key input --data.label_key label --data.apply_chat_template
  --data.max_len 2048 --rollout.max_new_tokens 1024

  # Reward: permix-plugins' verifier (never raises, never hangs); binary, so it suits dynamic filtering too.
  --reward.remote_url "$REWARD_FILE"

  # GRPO: group-normalised advantages over N samples of the same (prompt, persona), KL as a loss (k3).
  --algo.advantage.estimator group_norm --rollout.n_samples_per_prompt 8
  --algo.kl.use_loss --algo.kl.estimator k3 --algo.kl.init_coef 1e-3
  --rollout.temperature 1.0 --rollout.batch_size 128 --rollout.micro_batch_size 16
  --train.batch_size 256 --train.micro_batch_size 4 --train.max_epochs 1 --train.num_episodes 1
  --actor.adam.lr 1e-6 --train.seed 42

  # Evaluation per persona (pass@k grouped by the `datasource` column); keep the best no-persona checkpoint.
  --eval.dataset "$EVAL_FILE" --eval.steps 20 --eval.n_samples_per_prompt 4 --eval.temperature 0.6
  --ckpt.best_metric_key eval_none_pass1

  --ckpt.output_dir "$SAVE_DIR" --ckpt.path "$SAVE_DIR/ckpt" --ckpt.save_steps 50 --ckpt.max_num 3
  --ckpt.save_hf
  --logger.logging_steps 1 --logger.tensorboard_dir "$SAVE_DIR/runs"
  "$@"
)

if [[ -n "${PERMIX_PRINT_ARGS:-}" ]]; then
  printf '%s\n' "[export-train]" "${EXPORT_TRAIN[@]}" "[export-eval]" "${EXPORT_EVAL[@]}" \
                "[train]" "${TRAIN_ARGS[@]}"
  exit 0
fi

mkdir -p "$DATA_DIR"
[[ -f "$TRAIN_FILE" ]] || permix "${EXPORT_TRAIN[@]}"
[[ -f "$EVAL_FILE" ]] || permix "${EXPORT_EVAL[@]}"
set -x
exec python3 -m openrlhf.cli.train_ppo_ray "${TRAIN_ARGS[@]}"
