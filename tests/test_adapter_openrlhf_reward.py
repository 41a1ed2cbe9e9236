"""The OpenRLHF reward function on its own (`adapters/openrlhf.py`): its contract, threads and failures, finding the
response in the query, and reading labels."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from permix_plugins.adapters import openrlhf as adapter
from permix_plugins.adapters.openrlhf import (
    LOG_KEYS,
    Label,
    decode_label,
    encode_label,
    reward_func,
    split_completion,
)

from permix_plugins.math import OPENRLHF_LOG_KEYS, openrlhf_reward

pytestmark = pytest.mark.usefixtures("fast_default_verifier")


# ------------------------------------------------------------------------------------------------------------
# reward_func on its own: the contract, threads, failures
# ------------------------------------------------------------------------------------------------------------


def test_batch_shapes_types_and_keys_are_stable():
    import torch

    calls = [
        reward_func(["Q A: 4"], ["Q A:"], ["4"]),
        reward_func(["x"], ["something else"], [None]),
        reward_func(["Q: 1", "Q: 2", "Q: 3"], ["Q:"] * 3, ["1", encode_label("2", "owl"), '{"answer": ']),
        reward_func([], [], []),
        reward_func("Q: 7", "Q:", "7"),  # one sample passed bare
        reward_func(["Q: 7", "Q: 8"], ["Q:"], []),  # misaligned lists: the missing items are bad input
    ]
    for out, n in zip(calls, [1, 1, 3, 0, 1, 2], strict=True):
        assert list(out) == ["rewards", "scores", "extra_logs"] and list(out["extra_logs"]) == list(LOG_KEYS)
        for tensor in [out["rewards"], out["scores"], *out["extra_logs"].values()]:
            assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32 and tensor.shape == (n,)
    assert calls[2]["rewards"].tolist() == [1.0, 1.0, 0.0]
    assert calls[2]["extra_logs"]["persona_correct"].tolist() == [0.0, 1.0, 0.0]
    assert calls[1]["extra_logs"]["no_completion"].tolist() == [1.0]
    assert calls[5]["extra_logs"]["bad_gold"].tolist() == [1.0, 0.0]
    assert calls[5]["extra_logs"]["no_completion"].tolist() == [0.0, 1.0]


@pytest.mark.slow
def test_picklable_runs_in_a_spawned_process_and_ignores_extra_kwargs():
    import concurrent.futures
    import multiprocessing
    import pickle

    assert pickle.loads(pickle.dumps(reward_func)) is reward_func
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        out = pool.submit(reward_func, ["Q: 4"], ["Q:"], ["4"], step=3).result(timeout=120)
    assert out["rewards"].tolist() == [1.0]


def test_runs_in_worker_threads_including_math_verify():
    # an answer the fast path cannot decide: math-verify runs, whose signal-based timeouts fail in threads
    args = ([r"So \boxed{\sin(\pi/3)}"], [""], [r"\frac{\sqrt{3}}{2}"])
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(reward_func(*args)))
    thread.start()
    thread.join(30)
    results.append(asyncio.run(asyncio.to_thread(reward_func, *args)))
    assert [r["rewards"].tolist() for r in results] == [[1.0], [1.0]]


def test_never_raises_when_our_code_fails(monkeypatch):
    # a failing verifier, a hung one and bad settings are the core reward's (tests/test_math_reward.py)
    monkeypatch.setattr(adapter, "split_completion", lambda *a: 1 / 0)  # a bug anywhere in the adapter
    out = reward_func(["a", "b"], ["", ""], ["1", encode_label("2", "owl")])
    assert out["rewards"].tolist() == [0.0, 0.0] and out["extra_logs"]["error"].tolist() == [1.0, 1.0]
    assert list(out["extra_logs"]) == list(LOG_KEYS)


def test_scores_are_the_core_rewards_as_tensors():
    queries, prompts = ["Q: 4", "Q: 5", "x"], ["Q:", "Q:", "elsewhere"]
    labels = [encode_label("4", "owl"), "4", "4"]
    out = reward_func(queries, prompts, labels)
    core = openrlhf_reward([split_completion(q, p) for q, p in zip(queries, prompts, strict=True)],
                           ["4", "4", "4"], [True, False, False])  # fmt: skip
    assert out["rewards"].tolist() == core["rewards"] == [1.0, 0.0, 0.0]
    assert {key: values.tolist() for key, values in out["extra_logs"].items()} == core["extra_logs"]
    assert LOG_KEYS is OPENRLHF_LOG_KEYS


# ------------------------------------------------------------------------------------------------------------
# Finding the response and reading labels
# ------------------------------------------------------------------------------------------------------------

QWEN = (
    "<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nWhat is 40 + 2? \\boxed{}<|im_end|>\n"
    "<|im_start|>assistant\n"
)
LLAMA3 = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 40 + 2?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
GEMMA = "<bos><start_of_turn>user\nYou are a pirate.\n\nWhat is 40 + 2?<end_of_turn>\n<start_of_turn>model\n"
TINY = "<|system|>You are a pirate.<|end|><|user|>What is 40 + 2?<|end|><|assistant|>"
R1 = "<\uff5cUser\uff5c>What is 40 + 2?<\uff5cAssistant\uff5c><think>\n"


@pytest.mark.parametrize(
    ("query", "prompt", "expected"),
    [
        # the query starts with the prompt; trailing end-of-turn tokens go
        (QWEN + "42<|im_end|>", QWEN, "42"),
        (LLAMA3 + "It is 42.<|eot_id|>", LLAMA3, "It is 42."),
        (GEMMA + "42<end_of_turn><eos>", GEMMA, "42"),
        (TINY + "42<|end|>", TINY, "42"),
        (TINY + "42<|endoftext|></s>  ", TINY, "42"),
        # the tokenizer round trip changed whitespace ("<s> [INST]"-style spaces, cleaned-up spaces)
        ("<s> [INST] 40+2 ? [/INST] 42</s>", "<s>[INST] 40 + 2? [/INST]", "42"),
        # OpenRLHF cut the head of a long prompt, or the round trip changed characters: the template's marker
        (QWEN[40:] + "42<|im_end|>", QWEN, "42"),
        (LLAMA3.replace("40", "forty") + "42<|eot_id|>", LLAMA3, "42"),
        (GEMMA.replace("pirate", "pirat\u00e9") + "42", GEMMA, "42"),
        # a template that opens <think>: give it back, so an unfinished thought has no answer
        (R1 + "40 + 2 = 42</think>\\boxed{42}", R1, "<think>40 + 2 = 42</think>\\boxed{42}"),
        # unknown template and no prefix match: never guess (the prompt could be scored)
        ("Question: what is 40 + 2? Answer: 42", "Q: what is 40 + 2? A:", None),
        ("<|assistant|>42", "Q: 40 + 2 = ? A:", None),
        # not strings
        (None, TINY, None),
        (TINY + "42", None, None),
        # an empty prompt: everything is the response
        ("42", "", "42"),
    ],
)
def test_split_completion(query, prompt, expected):
    assert split_completion(query, prompt) == expected


def test_split_completion_on_huge_queries():
    # How the split scales on such queries is measured by benchmarks/bench_hostile.py, not asserted here.
    assert split_completion(TINY + "(" * 200_000, TINY) == "(" * 200_000
    assert split_completion(QWEN + "</s>" * 50_000, QWEN) == ""
    assert split_completion(" " * 200_000 + "x", QWEN) is None


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ('{"answer": "72", "persona_id": "pirate"}', Label("72", "pirate")),
        ({"answer": 72, "persona_id": "owl"}, Label(72, "owl")),  # a JSON-object column arrives parsed
        (b'{"answer": "3"}', Label("3", None)),
        ('  {"answer": "x", "persona_id": 5}  ', Label("x", None)),  # a non-string persona id is ignored
        ("72", Label("72", None)),
        (r"\{1, 2\}", Label(r"\{1, 2\}", None)),
        ("{1, 2}", Label("{1, 2}", None)),  # a set, not JSON
        ('{"answer": "72",', Label(None, None)),  # our JSON, broken: no gold, never the literal string
        ('{"persona_id": "owl"}', Label(None, "owl")),  # a JSON object without an answer
        ("", Label("", None)),
        (None, Label(None, None)),
        (3.5, Label(3.5, None)),
    ],
)
def test_decode_label(label, expected):
    assert decode_label(label) == expected


def test_label_round_trip_and_persona_flag():
    label = decode_label(encode_label("\\frac{1}{2}", "pirate"))
    assert label == Label("\\frac{1}{2}", "pirate") and label.has_persona
    assert not decode_label(encode_label("1", None)).has_persona and not decode_label("1").has_persona
