"""The evaluation runner and its backends: scoring, resume, placement fallback, transformers/vLLM/OpenAI."""

from __future__ import annotations

import json
import logging
import re
import sys
import types

import pytest
from fake_openai_server import FakeOpenAIServer

from permix_plugins.errors import ConfigError, MissingDependencyError
from permix_plugins.evaluation import (
    Backend,
    EvalRecord,
    GenerationError,
    OpenAIBackend,
    TransformersBackend,
    VLLMBackend,
    evaluate,
    load_backend,
    read_results,
)
from permix_plugins.personas import NO_PERSONA, Persona, PersonaPool

PROBLEMS = [{"id": f"q{i}", "problem": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(4)]
GOLD = {p["problem"]: p["answer"] for p in PROBLEMS}
POOL = PersonaPool(
    [
        NO_PERSONA,
        Persona(id="good", text="You are a good student."),
        Persona(id="bad", text="You are a bad student."),
        Persona(id="mute", text="You are a mute student."),
    ],
    name="students",
)


def scripted_answer(persona: str | None, user: str, sample: int) -> str:
    """none: right; good: right on sample 0 only; bad: wrong; mute: no answer at all."""
    gold = GOLD[user.split("\n\n")[0]]  # the problem, before the instruction
    if persona is None or (persona.startswith("You are a good") and sample == 0):
        return f"The sum is \\boxed{{{gold}}}."
    if persona.startswith("You are a mute"):
        return "I would rather not say."
    return f"The sum is \\boxed{{{int(gold) + 1}}}."


class ScriptedBackend:
    name = "scripted"
    supports_system_role = True
    max_new_tokens = 32

    def __init__(self, model_id: str = "scripted") -> None:
        self.model_id = model_id
        self.calls: list[dict] = []

    def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
        self.calls.append({"prompts": [list(p) for p in prompts], "n": n, "temperature": temperature})
        out = []
        for messages in prompts:
            persona = messages[0]["content"] if messages[0]["role"] == "system" else None
            user = messages[-1]["content"]
            if persona is None and user.startswith("You are a"):  # user_prefix placement
                persona, user = user.split("\n\n", 1)
            out.append([scripted_answer(persona, user.split("\n\n")[0], k) for k in range(n)])
        return out

    @property
    def generated(self) -> int:
        return sum(len(c["prompts"]) * c["n"] for c in self.calls)


def test_scripted_backend_is_a_backend():
    assert isinstance(ScriptedBackend(), Backend)


# ---------------------------------------------------------------------------------------------------- runner
def test_evaluate_scores_every_persona_and_reports(tmp_path):
    backend = ScriptedBackend()
    records, report = evaluate(
        backend, PROBLEMS, POOL, samples=2, temperature=1.0, progress=False, n_bootstrap=100
    )
    assert len(records) == 4 * 4 * 2 and len({r.key for r in records}) == 32
    assert report.accuracy == {"none": 1.0, "good": 0.5, "bad": 0.0, "mute": 0.0}
    assert report.persona("mute").no_answer_rate == 1.0 and report.persona("bad").no_answer_rate == 0.0
    assert report.gap_to_none == -1.0 and report.unanimity == 0.0
    assert report.meta["model"] == "scripted" and report.meta["personas"] == "students"
    # every backend call holds a single persona (batches are grouped by persona)
    for call in backend.calls:
        assert len({m[0]["content"] if m[0]["role"] == "system" else None for m in call["prompts"]}) == 1
        assert call["n"] == 2
    good = [r for r in records if r.persona_id == "good" and r.item_id == "q1"]
    assert [(r.sample, r.correct, r.reason, r.answer) for r in good] == [
        (0, True, "match", "3"),
        (1, False, "mismatch", "4"),
    ]


def test_greedy_generates_once_per_item_and_copies_samples(caplog):
    backend = ScriptedBackend()
    with caplog.at_level(logging.WARNING):
        records, report = evaluate(
            backend, PROBLEMS, POOL, samples=3, temperature=0.0, progress=False, n_bootstrap=50
        )
    assert {c["n"] for c in backend.calls} == {1} and backend.generated == 16
    assert len(records) == 48
    assert report.accuracy["good"] == 1.0  # sample 0 everywhere
    assert "samples per item will be identical" in caplog.text


def test_chunks_respect_chunk_size():
    backend = ScriptedBackend()
    evaluate(backend, PROBLEMS, POOL, chunk_size=3, progress=False, n_bootstrap=10)
    assert [len(c["prompts"]) for c in backend.calls] == [3, 1] * 4


def test_resume_skips_done_work_and_survives_a_truncated_last_line(tmp_path):
    results = tmp_path / "run" / "results.jsonl"
    first = evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=2,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=50,
    )
    assert len(read_results(results)) == 32

    again = ScriptedBackend()
    second = evaluate(
        again, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=50
    )
    assert again.calls == [] and second.records == first.records and second.report == first.report

    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:10]) + lines[10][:25])  # a crash while writing line 11
    resumed = ScriptedBackend()
    third = evaluate(
        resumed, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=50
    )
    assert resumed.generated == 22
    on_disk = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(on_disk) == 32 and len({(r["item_id"], r["persona_id"], r["sample"]) for r in on_disk}) == 32
    assert third.report == first.report


def test_resume_with_a_partly_sampled_item(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=2,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    kept = [
        line for line in results.read_text().splitlines() if '"sample": 1' not in line or '"q2"' not in line
    ]
    results.write_text("\n".join(kept) + "\n")
    backend = ScriptedBackend()
    records, _ = evaluate(
        backend, PROBLEMS, POOL, samples=2, temperature=1.0, results=results, progress=False, n_bootstrap=10
    )
    assert [(c["n"], len(c["prompts"])) for c in backend.calls] == [
        (1, 1)
    ] * 4  # only q2's sample 1, per persona
    assert len(records) == 32


def test_resume_refuses_results_of_other_settings(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS[:1],
        POOL,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    with pytest.raises(ConfigError, match=r"temperature=1\.0, but this run uses temperature=0\.5"):
        evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, temperature=0.5, results=results, progress=False)
    with pytest.raises(ConfigError, match="model='scripted'"):
        evaluate(
            ScriptedBackend("other"), PROBLEMS[:1], POOL, temperature=1.0, results=results, progress=False
        )


BASE_RUN = {"samples": 2, "temperature": 1.0, "max_new_tokens": 32, "seed": 0, "placement": "system"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"placement": "user_prefix"}, "placement='system'"),
        ({"instruction": None}, "instruction='Please reason step by step"),
        ({"seed": 1}, "seed=0"),
        ({"samples": 3}, "samples=2"),
        ({"temperature": 0.7}, "temperature=1.0"),
        ({"max_new_tokens": 16}, "max_new_tokens=32"),
        ({"problems": PROBLEMS[:3]}, "problems='2 problems, sha256 "),
        ({"personas": POOL.without("mute")}, "personas='students: 4 personas, sha256 "),
    ],
)
def test_resume_refuses_any_change_of_the_settings_that_shape_a_record(tmp_path, change, named):
    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10, **BASE_RUN
    )
    before = results.read_bytes()
    run = {"problems": PROBLEMS[:2], "personas": POOL, **BASE_RUN, **change}
    backend = ScriptedBackend()
    with pytest.raises(ConfigError, match=re.escape(named)) as refused:
        evaluate(backend, run.pop("problems"), run.pop("personas"), results=results, progress=False, **run)
    message = str(refused.value)
    assert message.startswith(f"{results} holds results made with ") and ", but this run uses " in message
    assert "write to another --out directory (or delete results.jsonl and results.settings.json" in message
    assert backend.calls == [] and results.read_bytes() == before  # nothing generated, nothing appended


def test_a_rerun_with_user_prefix_does_not_append_a_second_prompt_format(tmp_path):
    """The reported bug: a rerun with another placement (and more problems) added its lines to the same file."""
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10)
    with pytest.raises(ConfigError, match=r"placement='system', .*placement='user_prefix'"):
        evaluate(ScriptedBackend(), PROBLEMS, POOL, placement="user_prefix", results=results, progress=False)
    assert {r.placement for r in read_results(results)} == {"none", "system"} and len(
        read_results(results)
    ) == 8


def test_the_settings_file_belongs_to_the_records(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, results=results, progress=False, n_bootstrap=10)
    saved = json.loads((tmp_path / "results.settings.json").read_text())["settings"]
    assert saved["placement"] == "system" and saved["model"] == "scripted" and saved["samples"] == 1
    assert saved["instruction"].startswith("Please reason") and saved["personas"].startswith("students: 4")

    results.unlink()  # no records left: a new run may use new settings (the lab starts each run afresh)
    evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, seed=7, results=results, progress=False, n_bootstrap=10)
    assert json.loads((tmp_path / "results.settings.json").read_text())["settings"]["seed"] == 7

    (tmp_path / "results.settings.json").unlink()  # records whose settings are unknown are not resumed
    with pytest.raises(ConfigError, match=r"but no results\.settings\.json saying which settings made them"):
        evaluate(ScriptedBackend(), PROBLEMS[:1], POOL, seed=7, results=results, progress=False)


def test_reading_results_builds_one_validator_for_all_lines(tmp_path, monkeypatch):
    import pydantic

    from permix_plugins._reporting import type_adapter

    results = tmp_path / "results.jsonl"
    evaluate(
        ScriptedBackend(),
        PROBLEMS,
        POOL,
        samples=3,
        temperature=1.0,
        results=results,
        progress=False,
        n_bootstrap=10,
    )
    built = []

    class Counting(pydantic.TypeAdapter):
        def __init__(self, *args, **kwargs):
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pydantic, "TypeAdapter", Counting)
    type_adapter.cache_clear()
    try:
        assert len(read_results(results)) == 48 and len(read_results(results)) == 48
    finally:
        type_adapter.cache_clear()
    assert built == [EvalRecord]


def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path):
    results = tmp_path / "results.jsonl"
    evaluate(ScriptedBackend(), PROBLEMS[:2], POOL, results=results, progress=False, n_bootstrap=10)
    lines = results.read_text().splitlines()
    results.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"results\.jsonl, line 2: not a JSON object"):
        read_results(results)


def test_placement_falls_back_to_user_prefix_without_a_system_role(caplog):
    backend = ScriptedBackend()
    backend.supports_system_role = False
    with caplog.at_level(logging.WARNING):
        records, report = evaluate(backend, PROBLEMS, POOL, progress=False, n_bootstrap=10)
    assert "has no system role" in caplog.text
    assert all(m[0]["role"] == "user" for call in backend.calls for m in call["prompts"])
    assert {r.placement for r in records if r.persona_id != "none"} == {"user_prefix"}
    assert report.meta["placement"] == "user_prefix" and report.accuracy["none"] == 1.0


def test_bad_gold_is_left_out_and_counted():
    problems = [*PROBLEMS, {"id": "nogold", "problem": "What is 1 + 2?", "answer": ""}]
    records, report = evaluate(ScriptedBackend(), problems, POOL, progress=False, n_bootstrap=10)
    bad = [r for r in records if r.item_id == "nogold"]
    assert len(bad) == 4 and {(r.correct, r.reason) for r in bad} == {(None, "bad_gold")}
    assert report.n_bad_gold == 1 and report.n_items == 4


def test_wrong_backend_output_shape_is_a_generation_error():
    class Short(ScriptedBackend):
        def generate(self, prompts, **kwargs):
            return super().generate(prompts, **kwargs)[:-1]

    with pytest.raises(GenerationError, match="returned 3 result list"):
        evaluate(Short(), PROBLEMS, POOL, progress=False)


@pytest.mark.parametrize(
    ("problems", "message"),
    [
        ([{"id": "a", "problem": "x"}], "has no 'answer'"),
        ([PROBLEMS[0], PROBLEMS[0]], "appears twice"),
        ([], "no problems"),
    ],
)
def test_bad_problems_are_config_errors(problems, message):
    with pytest.raises(ConfigError, match=message):
        evaluate(ScriptedBackend(), problems, POOL, progress=False)


def test_records_round_trip():
    record = EvalRecord("q", "none", 0, "1", "\\boxed{1}", "1", "match", True, "m", "b", "system", 0.0, 8, 0)
    assert EvalRecord.from_dict(json.loads(record.to_json())) == record
    with pytest.raises(ConfigError, match="sample"):
        EvalRecord.from_dict({**json.loads(record.to_json()), "sample": "first"})


# --------------------------------------------------------------------------------------- transformers backend
@pytest.fixture(scope="module")
def tiny_lm():
    from permix_plugins.tinylm import build_model, build_tokenizer

    tokenizer = build_tokenizer()
    return build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2), tokenizer


def test_transformers_backend_leaves_model_tokenizer_and_rng_alone(tiny_lm):
    import torch

    model, tokenizer = tiny_lm
    backend = TransformersBackend(model, tokenizer, batch_size=4, max_new_tokens=6)
    grad_enabled = []
    original = model.generate

    def spy(*args, **kwargs):
        grad_enabled.append(torch.is_grad_enabled())
        assert not model.training
        return original(*args, **kwargs)

    model.generate = spy
    model.train()
    tokenizer.padding_side = "right"
    state = torch.get_rng_state()
    try:
        prompts = [[{"role": "user", "content": "x" * k}] for k in (1, 9, 4)]
        first = backend.generate(prompts, n=3, temperature=1.0, seed=5)
        again = backend.generate(prompts, n=3, temperature=1.0, seed=5)
    finally:
        del model.generate
    assert [len(out) for out in first] == [3, 3, 3] and all(isinstance(t, str) for out in first for t in out)
    assert first == again  # seeded
    assert grad_enabled and not any(grad_enabled)
    assert model.training and tokenizer.padding_side == "right"
    assert torch.equal(torch.get_rng_state(), state)
    model.eval()


def test_batched_generation_equals_one_prompt_at_a_time(tiny_lm):
    from permix_plugins.tinylm import build_tokenizer

    model, _ = tiny_lm
    plain = build_tokenizer()
    plain.chat_template = (
        None  # plain-text prompts end in ordinary characters, so greedy output is visible text
    )
    backend = TransformersBackend(model, plain, batch_size=8, max_new_tokens=5)
    prompts = [
        [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "What is 2+2?"}],
        [{"role": "user", "content": "abc"}],
        [{"role": "user", "content": "Count: 1 2 3 4 5 6 7 8 9"}],
    ]
    batched = backend.generate(prompts, n=1, temperature=0.0)
    assert batched == [backend.generate([p], n=1, temperature=0.0)[0] for p in prompts]
    assert any(out[0] for out in batched)


def test_system_role_fallback_with_a_template_that_raises(tiny_lm):
    from permix_plugins.tinylm import build_tokenizer

    model, _ = tiny_lm
    tokenizer = build_tokenizer()
    tokenizer.chat_template = (
        "{% for message in messages %}{% if message['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}<|assistant|>"
    )
    backend = TransformersBackend(model, tokenizer, max_new_tokens=3)
    assert backend.supports_system_role is False
    records, _report = evaluate(backend, PROBLEMS[:2], POOL, progress=False, n_bootstrap=10)
    assert len(records) == 8 and {r.placement for r in records} == {"none", "user_prefix"}


# ----------------------------------------------------------------------------------------------- vLLM backend
def test_vllm_missing_names_the_extra():
    if _importable("vllm"):
        pytest.skip("vllm is installed")
    with pytest.raises(MissingDependencyError, match=r"pip install 'permix-plugins\[vllm\]'"):
        load_backend("vllm", "some/model")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_vllm_backend_against_vllms_api_shape(monkeypatch, tiny_lm):
    _, tokenizer = tiny_lm
    made: dict = {}

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            made.update(kwargs)

        def get_tokenizer(self):
            return tokenizer

        def chat(self, messages, sampling_params=None, use_tqdm=True):
            made["chat"] = (messages, sampling_params, use_tqdm)
            completion = types.SimpleNamespace
            return [
                types.SimpleNamespace(
                    outputs=[
                        completion(index=i, text=f"{conv[-1]['content']}#{i}")
                        for i in reversed(range(p.kwargs["n"]))
                    ]
                )
                for conv, p in zip(messages, sampling_params, strict=True)
            ]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    backend = load_backend("vllm", "org/model", seed=3, max_new_tokens=64, tensor_parallel_size=2)
    assert (
        isinstance(backend, VLLMBackend) and backend.supports_system_role and backend.model_id == "org/model"
    )
    assert made["model"] == "org/model" and made["seed"] == 3 and made["tensor_parallel_size"] == 2
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    assert backend.generate(prompts, n=2, temperature=0.7, seed=1) == [["a#0", "a#1"], ["b#0", "b#1"]]
    messages, params, use_tqdm = made["chat"]
    assert messages == prompts and use_tqdm is False
    assert [p.kwargs["max_tokens"] for p in params] == [64, 64] and params[0].kwargs["temperature"] == 0.7
    assert params[0].kwargs["seed"] != params[1].kwargs["seed"]


# --------------------------------------------------------------------------------------------- OpenAI backend
def right_answer(persona, user, index):
    return f"\\boxed{{{GOLD[user.split(chr(10) * 2)[0]]}}}"


PROMPT = [{"role": "user", "content": "What is 0 + 1?"}]


def test_openai_backend_scores_exactly_through_a_real_server():
    with FakeOpenAIServer(scripted_answer, api_key="sk-test") as server:
        backend = OpenAIBackend("served-model", base_url=server.base_url, api_key="sk-test", concurrency=4)
        records, report = evaluate(
            backend, PROBLEMS, POOL, samples=2, temperature=0.8, progress=False, n_bootstrap=50
        )
        backend.close()
    assert report.accuracy == {"none": 1.0, "good": 0.5, "bad": 0.0, "mute": 0.0}
    assert {r.backend for r in records} == {"openai"} and {r.model for r in records} == {"served-model"}
    payload = server.payloads[0]
    assert payload["model"] == "served-model" and payload["n"] == 2 and payload["temperature"] == 0.8
    assert "max_completion_tokens" in payload and "max_tokens" not in payload  # vLLM deprecates max_tokens
    assert isinstance(payload["seed"], int)
    assert server.headers[0]["authorization"] == "Bearer sk-test"


def test_openai_backend_bounds_concurrency():
    with FakeOpenAIServer(right_answer) as server:
        server.delay_s = 0.05
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=3)
        outs = backend.generate([PROMPT] * 9, n=1, temperature=0.0)
        backend.close()
    assert outs == [["\\boxed{1}"]] * 9
    assert 1 < server.max_in_flight <= 3


def test_openai_backend_retries_503_and_timeouts():
    with FakeOpenAIServer(right_answer) as server:
        server.script = [(503, 0.0), (200, 1.5), (200, 0.0)]  # a 503, then a stall past the timeout, then OK
        backend = OpenAIBackend("m", base_url=server.base_url, timeout_s=0.4, backoff_s=0.01, max_retries=3)
        assert backend.generate([PROMPT], n=1, temperature=0.0) == [["\\boxed{1}"]]
        assert backend.requests == 3 and len(server.payloads) == 3
        backend.close()


def test_openai_backend_gives_up_with_the_last_error():
    with FakeOpenAIServer(right_answer) as server:
        server.script = [(503, 0.0)] * 5
        backend = OpenAIBackend("m", base_url=server.base_url, backoff_s=0.01, max_retries=1)
        with pytest.raises(GenerationError, match=r"failed 2 time\(s\).*HTTP 503"):
            backend.generate([PROMPT], n=1, temperature=0.0)
        backend.close()


def test_openai_backend_does_not_retry_auth_errors():
    with FakeOpenAIServer(right_answer, api_key="right") as server:
        backend = OpenAIBackend("m", base_url=server.base_url, api_key="wrong", backoff_s=0.01)
        with pytest.raises(GenerationError, match=r"HTTP 401.*check --api-key"):
            backend.generate([PROMPT], n=1, temperature=0.0)
        assert backend.requests == 1
        backend.close()


def test_openai_backend_asks_again_when_a_server_caps_n():
    with FakeOpenAIServer(lambda p, u, i: f"\\boxed{{{i}}}", max_choices=1) as server:
        backend = OpenAIBackend("m", base_url=server.base_url)
        assert backend.generate([PROMPT], n=3, temperature=1.0) == [["\\boxed{0}"] * 3]
        assert [p["n"] for p in server.payloads] == [3, 2, 1]
        backend.close()


def test_openai_backend_falls_back_to_max_tokens_for_older_servers():
    with FakeOpenAIServer(right_answer, rejects=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=7)
        assert backend.generate([PROMPT] * 2, n=1, temperature=0.0) == [["\\boxed{1}"]] * 2
        backend.close()
    # refused once, then the older name for this request and the next
    assert _limits(server) == [{"max_completion_tokens": 7}, {"max_tokens": 7}, {"max_tokens": 7}]
    assert backend.notes == {
        "length_limit": "max_tokens: the server refused max_completion_tokens (HTTP 400)"
    }


def _limits(server: FakeOpenAIServer) -> list[dict[str, int]]:
    return [{k: p[k] for k in ("max_completion_tokens", "max_tokens") if k in p} for p in server.payloads]


def rambling_answer(persona, user, index):
    """Twelve words, then the answer: only a server that ignores a 5-token limit sends the answer back."""
    return "let me think about this one slowly and carefully step by step \\boxed{1}"


def test_openai_backend_switches_to_max_tokens_when_the_server_ignores_the_limit(caplog):
    """llama.cpp's server before its PR 19831 took max_completion_tokens and generated without bound."""
    with FakeOpenAIServer(rambling_answer, ignores=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 2, n=1, temperature=0.0)
        backend.close()
    assert outs == [["let me think about this"]] * 2  # the unbounded answer was asked for again
    assert _limits(server) == [{"max_completion_tokens": 5}, {"max_tokens": 5}, {"max_tokens": 5}]
    assert backend.notes == {
        "length_limit": "max_tokens: the server ignored max_completion_tokens "
        "(13 completion tokens for 1 answer(s) of at most 5)"
    }
    assert [r.levelname for r in caplog.records] == ["WARNING"] and "max_tokens from now on" in caplog.text


def test_openai_backend_switches_once_under_concurrent_requests(caplog):
    with FakeOpenAIServer(rambling_answer, ignores=frozenset({"max_completion_tokens"})) as server:
        server.delay_s = 0.05  # several requests in flight with the ignored name
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=4, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 8, n=1, temperature=0.0)
        backend.close()
    assert outs == [["let me think about this"]] * 8
    assert len(caplog.records) == 1 and backend.notes["length_limit"].startswith(
        "max_tokens: the server ignored"
    )
    ignored = [p for p in server.payloads if "max_completion_tokens" in p]
    assert ignored and len(server.payloads) == 8 + len(ignored)  # each unbounded answer asked again, once


def test_openai_backend_counts_the_limit_per_choice():
    """usage sums every choice: 3 answers of 4 tokens are within a limit of 5, even from a server ignoring it."""
    short = "so it is \\boxed{1}"
    with FakeOpenAIServer(lambda p, u, i: short, ignores=frozenset({"max_completion_tokens"})) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, max_new_tokens=5)
        assert backend.generate([PROMPT], n=3, temperature=1.0) == [[short] * 3]
        backend.close()
    assert _limits(server) == [{"max_completion_tokens": 5}] and backend.notes == {}


def test_openai_backend_notes_a_server_that_ignores_both_limits(caplog):
    both = frozenset({"max_completion_tokens", "max_tokens"})
    with FakeOpenAIServer(rambling_answer, ignores=both) as server:
        backend = OpenAIBackend("m", base_url=server.base_url, concurrency=1, max_new_tokens=5)
        with caplog.at_level(logging.WARNING, logger="permix_plugins.evaluation.backends.openai_backend"):
            outs = backend.generate([PROMPT] * 2, n=1, temperature=0.0)
        backend.close()
    assert outs == [[rambling_answer(None, "", 0)]] * 2  # nothing left to try: the answers as they came
    assert _limits(server) == [{"max_completion_tokens": 5}, {"max_tokens": 5}, {"max_tokens": 5}]
    assert backend.notes == {
        "length_limit": "none: the server ignored max_tokens (13 completion tokens for 1 answer(s) of at most 5)"
    }
    assert len(caplog.messages) == 2 and "ignored max_completion_tokens (13" in caplog.messages[0]
    assert "ignored max_tokens (13" in caplog.messages[1] and "not bounded" in caplog.messages[1]


def test_evaluation_report_keeps_the_length_limit_switch():
    def ramble_then_answer(persona, user, index):
        return "well " * 10 + right_answer(persona, user, index)  # 11 tokens

    ignores = frozenset({"max_completion_tokens"})
    runs = {}
    for limit in (32, 5):
        with (
            FakeOpenAIServer(ramble_then_answer, ignores=ignores) as server,
            OpenAIBackend("m", base_url=server.base_url, concurrency=1) as backend,
        ):
            runs[limit] = evaluate(
                backend, PROBLEMS, POOL, max_new_tokens=limit, progress=False, n_bootstrap=10
            )
    assert "backend_notes" not in runs[32].report.meta and runs[32].report.mean == 1.0  # within the limit
    bounded = runs[5].report
    assert bounded.meta["backend_notes"]["length_limit"].startswith("max_tokens: the server ignored")
    assert bounded.mean == 0.0  # every answer cut at 5 tokens, before its \\boxed{}
    assert {r.completion for r in runs[5].records} == {"well well well well well"}


def test_openai_backend_needs_a_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="--base-url"):
        OpenAIBackend("m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    backend = OpenAIBackend("m")
    assert backend.url == "http://127.0.0.1:9/v1/chat/completions"
    assert backend._client.headers["authorization"] == "Bearer from-env"
    backend.close()


# ---------------------------------------------------------------------------------------------- the registry
def test_backend_names_and_options_come_from_the_backends():
    from permix_plugins.evaluation.backends.registry import BACKENDS, backend_options, option_backends

    assert list(BACKENDS) == [TransformersBackend.name, VLLMBackend.name, OpenAIBackend.name]
    assert (
        backend_options("openai")["concurrency"] == 16 and backend_options("transformers")["batch_size"] == 16
    )
    assert option_backends("dtype") == ["transformers", "vllm"]


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "openai",
            {"batch_size": 8},
            "option batch_size does not apply to backend 'openai' (it is for transformers)",
        ),
        (
            "transformers",
            {"base_url": "http://x/v1"},
            "option base_url does not apply to backend 'transformers'",
        ),
        (
            "vllm",
            {"device": "cuda:1"},
            "option device does not apply to backend 'vllm' (it is for transformers)",
        ),
        (
            "openai",
            {"tensor_parallel_size": 2},
            "option tensor_parallel_size does not apply to backend 'openai'",
        ),
    ],
)
def test_options_that_do_not_apply_to_the_backend_are_errors(name, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_backend(name, "m", **options)


def test_a_missing_local_model_path_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError, match=r"model './checkpoint-7' is not an existing path, not a named model"
    ):
        load_backend("transformers", "./checkpoint-7")


def test_backends_package_has_no_import_cycle():
    """`base` imports nothing of the package; each backend imports only `base`; the registry imports them."""
    import ast
    import pathlib

    import permix_plugins.evaluation.backends as package

    folder = pathlib.Path(package.__file__).parent
    imports = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        imports[path.stem] = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package.__name__ + ".")
        }
    assert imports["base"] == set()
    assert all(imports[b] == {"base"} for b in ("transformers_backend", "vllm_backend", "openai_backend"))
    assert imports["registry"] == {"base", "transformers_backend", "vllm_backend", "openai_backend"}
