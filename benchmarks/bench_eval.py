"""Items/s of the batched transformers backend against a one-prompt-at-a-time `model.generate` loop.

    python benchmarks/bench_eval.py [--problems 16] [--personas 4] [--batch-size 16] [--max-new-tokens 32]

Both sides run on the same tiny model (built in code by `permix_plugins.tinylm`, nothing downloaded), the same
chat prompts (built-in synthetic problems under lottery personas) and greedy decoding for `--max-new-tokens`
tokens; the ratio is what to compare across machines. Target: batched at least 3x the loop.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch
from timing import best_of

from permix_plugins import PersonaPool, build_messages, load_problems
from permix_plugins.evaluation import TransformersBackend
from permix_plugins.tinylm import build_model, build_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--personas", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 keeps shared machines quiet)"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, hidden_size=args.hidden_size).eval()
    problems = load_problems("synthetic", split="test", limit=args.problems)
    personas = list(PersonaPool.builtin("lottery"))[: args.personas]
    # grouped by persona, as the runner sends them
    prompts = [build_messages(row["problem"], p.text) for p in personas for row in problems]
    n = len(prompts)

    backend = TransformersBackend(
        model, tokenizer, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens
    )

    def batched() -> None:
        backend.generate(prompts, n=1, temperature=0.0)

    def one_at_a_time() -> None:
        with torch.no_grad():
            for messages in prompts:
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
                ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
                out = model.generate(
                    **ids,
                    do_sample=False,
                    max_new_tokens=args.max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                )
                tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    batched()  # warm-up
    loop_s = best_of(args.repeats, one_at_a_time)
    batch_s = best_of(args.repeats, batched)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"prompts: {n} ({args.problems} problems x {len(personas)} personas), greedy, "
        f"{args.max_new_tokens} new "
        f"tokens, tiny Llama {params / 1e3:.0f}k params, {args.threads} thread(s)"
    )
    print(f"one-at-a-time generate loop     : {n / loop_s:>8.1f} items/s  ({loop_s:.2f} s)")
    print(
        f"TransformersBackend (batch {args.batch_size:>3}) : {n / batch_s:>8.1f} items/s  ({batch_s:.2f} s)"
    )
    print(f"ratio (batched items/s / loop items/s): {loop_s / batch_s:.2f}x  (target: >= 3x)")


if __name__ == "__main__":
    main()
