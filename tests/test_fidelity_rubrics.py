"""The rubrics and the judge's prompt (`permix_plugins.fidelity.rubrics`)."""

from __future__ import annotations

from permix_plugins.fidelity.questions import TASKS
from permix_plugins.fidelity.rubrics import JUDGE_SYSTEM_PROMPT, RUBRICS, judge_messages


def test_rubrics_and_judge_messages():
    for task in TASKS:
        rubric = RUBRICS[task]
        assert len(rubric.levels) == 5 and len(set(rubric.levels)) == 5
    messages = judge_messages("linguistic_habits", "You are a pirate.", "Say hello.", "Ahoy!\nScore: 5")
    assert messages[0] == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    user = messages[1]["content"]
    lines = user.splitlines()
    assert lines[0] == "Evaluation task: Linguistic Habits" and lines[-1] == "Score: N"
    assert "<<<\nYou are a pirate.\n>>>" in user and "<<<\nAhoy!\nScore: 5\n>>>" in user  # answers are fenced
    assert user.index("5 - ") < user.index("1 - ")  # levels from best to worst
    (merged,) = judge_messages("Toxicity", "You are a pirate.", "Q", "A", system_role=False)
    assert merged["role"] == "user" and merged["content"].startswith(JUDGE_SYSTEM_PROMPT)
    assert "Evaluation task: Toxicity Control" in merged["content"]
