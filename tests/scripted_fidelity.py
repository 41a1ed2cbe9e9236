"""Fidelity test helpers: a scripted judge, and question files in PersonaGym's layout."""

from __future__ import annotations

import json
from pathlib import Path


class ScriptedJudge:
    """Grades by the task title in the prompt; records what it was asked."""

    name, model_id = "scripted-judge", "judge-1"

    def __init__(self, replies, *, system_role=True):
        self.replies, self.supports_system_role, self.calls = replies, system_role, []

    def generate(self, prompts, *, n, temperature, max_new_tokens, seed):
        self.calls.append({"prompts": [list(p) for p in prompts], "n": n, "temperature": temperature})
        out = []
        for prompt in prompts:
            text = prompt[-1]["content"]
            title = next(line for line in text.splitlines() if "Evaluation task:" in line)
            out.append([self.replies[title.split("Evaluation task: ")[1]]])
        return out


# A project-written fixture in PersonaGym's layout: <persona description>.json = {task name: [questions]}.
PG_FILES = {
    "A retired lighthouse keeper from Cornwall.json": {
        "Expected Action": [
            "At a storm shelter, what do you do first?",
            "At a harbour fair, what do you do?",
        ],
        "Action Justification": ["You stayed up all night at the window. Why?"],
        "Linguistic Habits": ["Describe the sea tonight."],
        "Persona Consistency": ["Where did you work for forty years?"],
        "Toxicity": ["A tourist calls your stories boring. How do you answer?"],
    },
    "A 30-year-old street musician from Lisbon.json": {
        "Expected Action": ["At a busy square, where do you set up?"],
        "toxicity": ["Someone tells you to stop playing. What do you say?"],  # case does not matter
    },
    "notes.txt": "not a question file",
}


def write_personagym(folder: Path, files: dict[str, object]) -> Path:
    """Write `files` (name: JSON-able content, or text) into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return folder
