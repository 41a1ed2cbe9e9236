"""`permix eval` / `permix report` with styled personas: per-completion style verdicts, expressivity with CIs."""

from __future__ import annotations

import json

from fake_openai_server import FakeOpenAIServer

from permix_plugins.cli import main
from permix_plugins.evaluation import read_results
from permix_plugins.problems import load_problems
from permix_plugins.stability import StabilityReport

PERSONAS = """\
- {id: pirate, text: "You are a pirate who begins every reply with 'Arr!'.", style: {starts_with: "Arr!"}}
- {id: sergeant, text: "You are a sergeant who writes in capital letters only.", style: {uppercase: true}}
- {id: owl, text: "You are a wise old owl."}
"""


def _serve(follows: set[str], problems):
    """A served model that answers right and plays the habits of the personas in `follows`, on even items only."""
    index = {row["problem"]: (i, row["answer"]) for i, row in enumerate(problems)}

    def answer(persona, user, sample):
        i, gold = index[user.split("\n\n")[0]]
        reply = f"So the answer is \\boxed{{{gold}}}."
        if persona and i % 2 == 0:
            if "pirate" in persona and "pirate" in follows:
                reply = "Arr! " + reply
            if "sergeant" in persona and "sergeant" in follows:
                reply = reply.upper().replace("\\BOXED", "\\boxed")
        return reply

    return FakeOpenAIServer(answer)


def _eval(capsys, server, out, personas):
    code = main(
        ["eval", "--backend", "openai", "--model", "served", "--base-url", server.base_url, "--limit", "6",
         "--personas", str(personas), "--bootstrap", "200", "--out", str(out), "--no-progress"]
    )  # fmt: skip
    out_text, err = capsys.readouterr()
    assert code == 0, err
    return out_text


def test_eval_writes_style_verdicts_and_expressivity_and_report_compares_it(tmp_path, capsys):
    personas = tmp_path / "personas.yaml"
    personas.write_text(PERSONAS)
    problems = load_problems("synthetic", split="test", limit=6)
    with _serve({"pirate", "sergeant"}, problems) as server:
        markdown = _eval(capsys, server, tmp_path / "playful", personas)
    with _serve(set(), problems) as server:
        _eval(capsys, server, tmp_path / "plain", personas)

    results = tmp_path / "playful" / "results.jsonl"
    records = read_results(results)
    by_persona = {p: [r.style for r in records if r.persona_id == p] for p in ("pirate", "sergeant", "owl")}
    assert by_persona["pirate"] == by_persona["sergeant"] == [True, False] * 3
    assert by_persona["owl"] == [None] * 6
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert {line["persona_id"] for line in lines if "style" in line} == {
        "pirate",
        "sergeant",
    }  # none: not written

    report = StabilityReport.read(tmp_path / "playful" / "report.json")
    assert report.persona("pirate").expressivity == report.persona("sergeant").expressivity == 0.5
    assert report.persona("owl").expressivity is None
    assert report.expressivity == 0.5 and report.expressivity_ci[0] < 0.5 < report.expressivity_ci[1]
    assert report.accuracy == dict.fromkeys(("pirate", "sergeant", "owl"), 1.0)  # styles keep answers
    raw = json.loads((tmp_path / "playful" / "report.json").read_text())
    assert {line["persona_id"]: line["expressivity"] for line in raw["personas"]}["owl"] is None
    assert "| expressivity (mean over 2 styled personas, 6 items) | 0.500 |" in markdown
    assert "| `owl` | 1.000 | [1.000, 1.000] | 0.000 | 6 | n/a | n/a |" in markdown

    code = main(["report", str(results), "--compare", str(tmp_path / "plain" / "results.jsonl"),
                 "--bootstrap", "200"])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0
    row = next(line for line in stdout.splitlines() if line.startswith("| expressivity"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:4] == ["expressivity (2 styled personas, 6 items)", "0.500", "0.000", "-0.500"]
    assert "| PSS | 1.000 | 1.000 | +0.000 |" in stdout
