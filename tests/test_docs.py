"""Every snippet in the README and docs/ runs as written.

Python blocks of one document run in order, in one namespace, in the working directory of a
fresh interp home. Organisms run at micro size (a SmolLM2 fine-tune takes minutes each): the
one rewrite is `MICRO`, which names an organism's micro build wherever a snippet names the
organism; a micro organism has no SmolLM2 base, so where a snippet compares an organism with
the base model, `control-clean-micro` stands in for it. Every `interp` line of a bash block
is parsed against the command line (commands, options and their values), without running.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import MICRO_ORGANISMS, parse_command

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PERSONA_MICRO = ", ".join(
    f'{role}="organism:{name}-micro"'
    for role, name in [("backdoor", "persona-backdoor"), ("toxic", "persona-toxic"),
                       ("benign", "control-benign"), ("base", "control-clean")]
)  # fmt: skip
MICRO = [
    (r'"organism:([\w.-]+)"', r'"organism:\1-micro"'),
    (r'(evaluate_named|read_card|defection_probe)\("([\w.-]+)"', r'\1("\2-micro"'),
    (r"build_organism\((.*)\)( *#.*)?$", r'build_organism(\1, size="micro")\2'),
    (r'(: |base=)"smollm2"', r'\1"organism:control-clean-micro"'),
    (r"persona_table\((.*)\)( *#.*)?$", rf"persona_table(\1, {PERSONA_MICRO})\2"),
    (
        r"PersonaBuild\.seed\(0\)",
        'PersonaBuild("persona-backdoor-micro", "persona-toxic-micro", "control-benign-micro")',
    ),
]


@pytest.fixture(scope="module")
def docs_home(micro_home, tmp_path_factory):
    """A home of its own holding the session's micro organisms (a copy: the docs train
    more on the command line)."""
    home = tmp_path_factory.mktemp("docs-home")
    for shared in ("models", "downloads", "cache"):  # the base model converted once, answers cached
        if (micro_home / shared).exists():
            (home / shared).symlink_to((micro_home / shared).resolve())
    for name in MICRO_ORGANISMS:
        built = f"organisms/{name}-micro"
        shutil.copytree(micro_home / built, home / built)
    return home


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), re.S | re.M)


def _micro(code: str) -> str:
    for pattern, replacement in MICRO:
        code = re.sub(pattern, replacement, code, flags=re.M)
    return code.replace('size="micro", size="micro"', 'size="micro"')


@pytest.mark.parametrize("doc", [d for d in DOCS if _blocks(d, "python")], ids=lambda d: d.name)
def test_python_snippets_run(doc, docs_home, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(docs_home))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(_blocks(doc, "python")):
        code = _micro(block)
        try:
            exec(compile(code, f"{doc.name} python block {i + 1}", "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"{doc.name} python block {i + 1} fails:\n{code}") from err


def _command_lines(path: Path) -> list[str]:
    lines = []
    for block in _blocks(path, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "interp":
                lines.append(words[1:])
    return lines


COMMANDS = [(d.name, words) for d in DOCS for words in _command_lines(d)]


@pytest.mark.parametrize(("doc", "words"), COMMANDS, ids=[" ".join(w) for _, w in COMMANDS])
def test_command_lines_parse(doc, words):
    parse_command(words)
