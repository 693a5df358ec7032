"""Bad transcripts and options given to `interp monitor`: exit code 2 and one line naming
the problem and the fix, and nothing written."""

from __future__ import annotations

import json

import pytest
from cli_checks import refused, runner

from interp.cli import app

MONITOR_CASES = [
    (None, "does not exist"),
    ("", "holds no transcripts"),
    ("{not json\n", "is not valid JSON"),
    (b"\xff\xfe\n", "is not UTF-8 text"),
    ([1, 2], "is not an object"),
    ('"text"', "is not an object"),
    ({"reasoning": "hi"}, "no 'answer' field"),
    ({"answer": None}, "'answer' is None, not a string"),
    ({"answer": "A", "reasoning": 3}, "'reasoning' is 3, not a string"),
    ({"answer": "A", "prompt": 5}, "'prompt' is 5, not a string"),
    ({"answer": "A", "reasonning": "I must"}, "'reasonning' looks like a misspelt 'reasoning'"),
    ({"answer": "A", "options": {}}, "not an object of two or more letter -> option text"),
    ({"answer": "A", "options": ["x", "y"], "aligned_option": "A"}, "not an object of two"),
    ({"answer": "A", "options": {"A": 1, "B": "y"}}, "not an object of two"),
    ({"answer": "A", "options": {"AA": "x", "B": "y"}}, "not an object of two"),
    ({"answer": "A", "options": {"A": "x"}}, "not an object of two"),
    ({"answer": "B", "options": {"A": "x", "B": "y"}, "aligned_option": "C"}, "not one of the options ['A', 'B']"),
    ({"answer": "B", "aligned_option": 1}, "'aligned_option' is 1"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "message"), MONITOR_CASES)
def test_monitor_refuses_transcripts_of_another_shape(content, message, tmp_path):
    path = tmp_path / "t.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_text(json.dumps(content) + "\n")
    line = refused(["monitor", str(path)], message)
    if isinstance(content, dict | list):
        assert "a transcript is one object per line" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["monitor"], "Missing argument 'path'"),
        (["monitor", "TMP"], "is a directory; pass a JSONL file"),
        (["monitor", "TMP/ok.jsonl", "--trigger", ""], "the trigger is empty"),
        (["monitor", "TMP/ok.jsonl", "--distractor", " "], "the distractor is empty"),
        (["monitor", "TMP/ok.jsonl", "--trigger"], "Option '--trigger' requires an argument"),
        (["monitor", "TMP/ok.jsonl", "--foo"], "No such option: --foo"),
    ],
)
def test_monitor_options(args, message, tmp_path):
    (tmp_path / "ok.jsonl").write_text('{"answer": "A"}\n')
    refused([a.replace("TMP", str(tmp_path)) for a in args], message)
    assert [p.name for p in tmp_path.iterdir()] == ["ok.jsonl"], "nothing written"


def test_monitor_reports_trigger_naming_only_when_asked(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"answer": "A", "reasoning": "Singapore"}) + "\n")
    result = json.loads(runner.invoke(app, ["monitor", str(path), "--json"]).output)
    assert "names_trigger" not in result["rates"]
    asked = runner.invoke(app, ["monitor", str(path), "--trigger", "Singapore", "--json"])
    assert json.loads(asked.output)["rates"]["names_trigger"]["k"] == 1
