"""A scripted generation backend for evaluation tests, and the problems and personas it answers.

`ScriptedBackend` answers by persona: no persona right, ``good`` right on sample 0 only, ``bad`` wrong, ``mute``
with no answer at all (`scripted_answer`); it records every call.
"""

from __future__ import annotations

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
