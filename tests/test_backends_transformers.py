"""The transformers backend (`evaluation/backends/transformers_backend.py`) on a tiny model built in code."""

from __future__ import annotations

from scripted_eval import POOL, PROBLEMS

from permix_plugins.evaluation import TransformersBackend, evaluate


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
