"""Docs that run: every code block of README.md and docs/*.md is either run here or accounted for.

* **Python blocks** run as written (pytest-examples), each in a fresh folder, against a fresh Zoom
  emulator and the session's Prefect API, where Server-to-Server connection blocks are saved under
  every name in :data:`DOC_BLOCK_NAMES`. Afterwards each flow the block defines is called (its
  parameters must all have defaults), async ones with ``asyncio.run``. Calls that would run
  until stopped (``prefect.serve``, ``Flow.serve``, ``uvicorn.run``) are recorded instead, after
  checking what they were given. The folder holds the files the docs name (``meetings.csv``).
  A fragment that cannot run may instead carry ``<!-- docs: illustrative, REASON -->`` on the
  line above its fence: it is then only compiled.
* **Shell blocks** (``console``, ``bash``, ``sh``, ``shell``) need the line right above their fence
  to say how they are kept true, as an HTML comment (hidden when rendered):
  ``<!-- docs: run by tests/test_x.py::test_name -->`` (that test must exist), or
  ``<!-- docs: illustrative, REASON -->``.

Other blocks (``yaml``, ``text``, diagrams) are not checked here.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers.connections import s2s_credentials
from markdown_it import MarkdownIt
from prefect import Flow
from pytest_examples import CodeExample, EvalExample, find_examples

from zoom_emulator import ZoomEmulator

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOC_BLOCK_NAMES = ("zoom", "zoom-prod", "zoom-s2s", "my-zoom")
"""Connection block names the examples may use; add one here when a doc needs another."""
WEBHOOK_SECRET = "docs-webhook-secret"
MEETINGS_CSV = "topic,start_time,duration\nDocs review,2030-05-17T15:00:00Z,30\n"
ABSOLUTE_FOLDER = re.compile(r"[\"'](/(?:srv|var|home|opt|mnt|data|media)/[^\"']*)")
SHELL_LANGUAGES = {"console", "bash", "sh", "shell", "zsh"}
MARKER = re.compile(
    r"^\s*<!--\s*docs:\s*(?P<how>run by|illustrative)\b[,:]?\s*(?P<what>.*?)\s*-->\s*$"
)


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def line_above(path: Path, fence_line: int) -> str | None:
    """The line right above a fence (``fence_line`` counts from 1), where a marker goes."""
    lines = path.read_text().splitlines()
    return lines[fence_line - 2] if fence_line >= 2 else None


PYTHON_EXAMPLES = [example for path in DOC_FILES for example in find_examples(path)]


@dataclass
class LongRunning:
    """The calls that would serve forever, recorded with their arguments."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def recorder(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record


@pytest.fixture
def docs_world(
    zoom_emulator: ZoomEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LongRunning]:
    """What the docs assume: saved connections, a working folder with their files, a secret."""
    import prefect
    import uvicorn

    for name in DOC_BLOCK_NAMES:
        s2s_credentials(zoom_emulator).save(name, overwrite=True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "meetings.csv").write_text(MEETINGS_CSV)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("ZOOM_WEBHOOK_SECRET_TOKEN", WEBHOOK_SECRET)
    long_running = LongRunning()
    monkeypatch.setattr(prefect, "serve", long_running.recorder("prefect.serve"))
    monkeypatch.setattr(Flow, "serve", long_running.recorder("Flow.serve"))
    monkeypatch.setattr(uvicorn, "run", long_running.recorder("uvicorn.run"))
    yield long_running


def check_long_running(calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> None:
    """What a recorded call was given is what it needs to serve."""
    from prefect.deployments.runner import RunnerDeployment

    for name, args, kwargs in calls:
        if name == "prefect.serve":
            assert args and all(isinstance(a, RunnerDeployment) for a in args), args
        elif name == "Flow.serve":
            flow, *_ = args
            assert isinstance(flow, Flow) and kwargs.get("name"), (args, kwargs)
            flow.to_deployment(**kwargs)  # the same options must build a deployment
        elif name == "uvicorn.run":
            assert hasattr(args[0].state, "receiver"), "not the webhook receiver app"


def flows_defined_in(module: dict[str, Any]) -> list[Flow[Any, Any]]:
    return [
        value
        for value in module.values()
        if isinstance(value, Flow) and getattr(value.fn, "__module__", None) == "__main__"
    ]


@pytest.mark.parametrize(
    "example", PYTHON_EXAMPLES, ids=[f"{relative(e.path)}:{e.start_line}" for e in PYTHON_EXAMPLES]
)
def test_python_example_runs_as_written(
    example: CodeExample, eval_example: EvalExample, docs_world: LongRunning
) -> None:
    where = f"the python block at {relative(example.path)} line {example.start_line}"
    marker = MARKER.match(line_above(example.path, example.start_line) or "")
    if marker and marker["how"] == "illustrative":
        assert len(marker["what"]) >= 10, f"{where}: say why it is only illustrative"
        compile(example.source, where, "exec")
        return
    outside = ABSOLUTE_FOLDER.search(example.source)
    assert not outside, (
        f"{where} names the folder {outside.group(0)}: the test would write there. Use a "
        "relative folder (the flows resolve it where they run)."
    )
    try:
        module = eval_example.run(example)
        for flow in flows_defined_in(module):
            required = [
                p.name
                for p in inspect.signature(flow.fn).parameters.values()
                if p.default is inspect.Parameter.empty
            ]
            assert not required, (
                f"flow {flow.name!r} needs {required}: give them defaults so the docs test can "
                "call it"
            )
            result = flow()
            if inspect.isawaitable(result):
                asyncio.run(result)
        check_long_running(docs_world.calls)
    except Exception as error:
        raise AssertionError(failure_message(where, error)) from None


def failure_message(where: str, error: BaseException) -> str:
    """What failed, where in the doc and in the code, and (for a block name) the fix.

    Not a chained exception: pytest-examples points the traceback's frames into the doc, which
    pytest cannot render as the cause of another error, so the frames are listed as text.
    """
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}")
        tb = tb.tb_next
    message = f"{where} failed: {type(error).__name__}: {error}"
    if "no Zoom credentials block named" in str(error):
        message += (
            f"\nUse a block name the docs test saves ({', '.join(DOC_BLOCK_NAMES)}), or add "
            "yours to DOC_BLOCK_NAMES in tests/test_docs_examples.py."
        )
    return message + "\nTraceback (innermost last):\n  " + "\n  ".join(frames[-8:])


@dataclass(frozen=True)
class ShellBlock:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    marker: str | None  # the line just above the fence


def shell_blocks() -> list[ShellBlock]:
    blocks = []
    for path in DOC_FILES:
        text = path.read_text()
        for token in MarkdownIt("commonmark").parse(text):
            language = token.info.split()[0].lower() if token.info.strip() else ""
            if token.type != "fence" or language not in SHELL_LANGUAGES or token.map is None:
                continue
            line = token.map[0] + 1
            blocks.append(ShellBlock(path, line, language, line_above(path, line)))
    return blocks


SHELL_BLOCKS = shell_blocks()


@pytest.mark.parametrize(
    "block", SHELL_BLOCKS, ids=[f"{relative(b.path)}:{b.line}" for b in SHELL_BLOCKS]
)
def test_shell_block_is_run_by_a_test_or_marked_illustrative(block: ShellBlock) -> None:
    where = f"the {block.language} block at {relative(block.path)} line {block.line}"
    found = MARKER.match(block.marker or "")
    assert found, (
        f"{where} says neither how a test runs it nor why it is only illustrative. Put one of "
        "these on the line right above its fence: `<!-- docs: run by tests/test_x.py::test_name "
        "-->` or `<!-- docs: illustrative, REASON -->`."
    )
    what = found["what"]
    if found["how"] == "illustrative":
        assert len(what) >= 10, f"{where}: say why it is only illustrative ({block.marker!r})"
        return
    file_name, _, test_name = what.partition("::")
    test_file = ROOT / file_name
    assert test_file.is_file() and test_name, f"{where}: no test file {file_name!r} ({what!r})"
    assert re.search(rf"^(async )?def {re.escape(test_name)}\(", test_file.read_text(), re.M), (
        f"{where}: {file_name} has no test named {test_name!r}"
    )


def test_the_docs_have_the_examples_this_test_expects() -> None:
    """A change in how blocks are found must not silently leave the docs unchecked."""
    with_python = {relative(e.path) for e in PYTHON_EXAMPLES}
    assert {"README.md", "docs/flows.md", "docs/meetings.md", "docs/users.md"} <= with_python
    assert len(PYTHON_EXAMPLES) >= 9
    assert {relative(b.path) for b in SHELL_BLOCKS} >= {"README.md", "docs/deployments.md"}


def test_a_broken_example_fails_naming_its_doc_line(
    eval_example: EvalExample, tmp_path: Path
) -> None:
    doc = tmp_path / "broken.md"
    doc.write_text(
        "Text.\n\n```python\nimport os\nfrom prefect_zoom.tasks import no_such_task\n```\n"
    )
    (example,) = find_examples(doc)
    with pytest.raises(ImportError) as caught:
        eval_example.run(example)
    message = failure_message("the python block at broken.md line 3", caught.value)
    assert message.startswith("the python block at broken.md line 3 failed: ImportError:")
    assert f"{doc}:5" in message, message
