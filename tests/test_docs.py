"""Every Python code block in the documentation runs, page by page.

One test per page (``docs/**/*.md`` and ``README.md``), its id the page's path: the page's
```` ```python ```` blocks run in order in one fresh namespace, so a page must import and
define everything it uses (``net`` included). The collector is a small line parser written
here (not mktestdocs), so that it can honour the ``docs-test`` markers below. ```` ```bash ````,
```` ```console ```` and other blocks are not run; nor is a Python block that only includes a
file (``--8<--``: the example scripts, which ``tests/test_examples.py`` runs), counted as skipped.

A block whose first line starts with ``>>>`` is a doctest: it runs with `doctest` in the same
namespace, and its printed output must match.

Markers are HTML comments directly above a block's fence (MkDocs does not render them); see
"Code blocks in the pages" in ``docs/development.md``:

- ``<!-- docs-test: skip (reason) -->``: the block is not run (a web server, a long training
  run); the page's skipped blocks and their reasons are printed.
- ``<!-- docs-test: replace "OLD" "NEW" ... -->``: the block runs with each ``OLD`` replaced by
  its ``NEW`` (shell quoting; ``OLD`` must occur), e.g. fewer epochs than the page shows.
- ``<!-- docs-test: setup CODE -->``: hidden ``CODE`` (one or more lines) runs before the block,
  in a namespace of its own: for what a reader brings along, such as an input file.

Nothing touches the network: ``BACHNET_MIRROR`` is the shared data folder beside the checkout
(the test is skipped without it) and ``BACHNET_DATA_DIR`` an empty temporary folder; blocks run
in a temporary working directory, so the files they write land there.
"""

from __future__ import annotations

import doctest
import io
import os
import re
import shlex
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from bachnet import samplers
from bachnet.data import ENV_DATA_DIR, ENV_MIRROR, JSB_ARCHIVE

# About two minutes: deselected by the README's test command, run by CI's `nox -s docs_blocks`.
pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAGES = sorted(
    path
    for path in [*(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]
    if "```python" in (text := path.read_text(encoding="utf-8")) or "docs-test:" in text
)

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
MARKER = re.compile(r"^[ \t]*<!--[ \t]*docs-test:")
SKIP = re.compile(r"skip[ \t]*\((?P<reason>[^\n]+)\)", re.S)
PYTHON = {"python", "py", "python3"}


def shown(page: Path) -> str:
    """The page's path as messages and test ids show it: relative to the repository."""
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


class MarkupError(Exception):
    """A ``docs-test`` marker that is malformed or stands where no Python block follows."""


@dataclass
class Block:
    """One fenced Python block of a page, with what its markers ask."""

    page: Path
    line: int  # the line of the block's first line of code, 1-based
    code: str
    skip: str | None = None
    setup: list[str] = field(default_factory=list)
    replace: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{shown(self.page)}:{self.line}"

    def source(self) -> str:
        """The code to run: the replacements applied, padded so that line numbers match."""
        code = self.code
        for old, new in self.replace:
            if old not in code:
                raise MarkupError(f"{self.where}: replace {old!r}: not in the block")
            code = code.replace(old, new)
        return "\n" * (self.line - 1) + code


def apply_marker(block: Block, text: str, line: int, page: Path) -> None:
    """Record what one marker (``text``: between ``docs-test:`` and ``-->``) asks of ``block``."""
    where = f"{shown(page)}:{line}"
    command = text.split(None, 1)[0] if text.strip() else ""
    if command == "skip":
        match = SKIP.fullmatch(text.strip())
        if match is None:
            raise MarkupError(f"{where}: write skip (reason)")
        block.skip = " ".join(match["reason"].split())
    elif command == "replace":
        words = shlex.split(text.strip())[1:]
        if not words or len(words) % 2:
            raise MarkupError(f'{where}: write replace "OLD" "NEW" ..., got {text.strip()!r}')
        block.replace += zip(words[0::2], words[1::2], strict=True)
    elif command == "setup":
        code = text.strip()[len("setup") :]
        first, _, rest = code.partition("\n")
        block.setup.append((first.strip() + "\n" + textwrap.dedent(rest)).strip("\n") + "\n")
    else:
        raise MarkupError(f"{where}: unknown docs-test marker {text.strip()!r}")


def collect(page: Path) -> list[Block]:
    """The page's Python blocks in order, with their markers applied."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []  # markers waiting for their block: (line, text)
    i = 0
    while i < len(lines):
        if MARKER.match(lines[i]):
            start, text = i, lines[i]
            while "-->" not in lines[i]:
                i += 1
                if i == len(lines):
                    raise MarkupError(f"{shown(page)}:{start + 1}: unclosed marker")
                text += "\n" + lines[i]
            body = text.split("docs-test:", 1)[1].rsplit("-->", 1)[0]
            pending.append((start + 1, body))
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence is None:
            if pending:
                raise MarkupError(
                    f"{shown(page)}:{pending[0][0]}: a docs-test marker must stand "
                    "directly above a ```python fence"
                )
            i += 1
            continue
        indent, mark = fence["indent"], fence["fence"]
        end = i + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(mark[0] * len(mark))
            and set(lines[end].strip()) == {mark[0]}
        ):
            end += 1
        language = (fence["info"].split() or [""])[0].lower()
        body_lines = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[i + 1 : end]
        ]
        code = "\n".join(body_lines) + "\n"
        is_snippet = all(line.strip().startswith("--8<--") for line in body_lines if line.strip())
        if language in PYTHON:
            block = Block(page, i + 2, code)
            for line, text in pending:
                apply_marker(block, text, line, page)
            if is_snippet and block.skip is None:
                # A marker cannot sit above an indented fence (in an admonition) without adding
                # an empty paragraph to the page; the include line says enough.
                block.skip = "only includes a file with --8<--"
            blocks.append(block)
        elif pending:
            raise MarkupError(
                f"{shown(page)}:{pending[0][0]}: a docs-test marker above a "
                f"{language or 'plain'} block; only Python blocks run"
            )
        pending = []
        i = end + 1
    if pending:
        raise MarkupError(f"{shown(page)}:{pending[0][0]}: marker at the end")
    return blocks


def run_block(block: Block, namespace: dict[str, object]) -> None:
    """Run one block in the page's namespace, after its setup code (in a namespace of its own,
    so that setup can make files but not define what the page uses)."""
    for number, setup in enumerate(block.setup, start=1):
        code = compile(setup, f"<docs-test setup {number} of {block.where}>", "exec")
        exec(code, {"__name__": "__docs_setup__"})
    source = block.source()
    if block.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            source, namespace, block.where, str(block.page), 0
        )
        output = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=output.write, clear_globs=False)
        if runner.failures:
            pytest.fail(f"doctest failed in {block.where}:\n{output.getvalue()}", pytrace=False)
        return
    exec(compile(source, str(block.page), "exec"), namespace)


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An offline page environment: the shared mirror, an empty cache, a scratch working dir."""
    if not (SHARED_DATA / JSB_ARCHIVE).is_file():
        pytest.skip(
            f"shared data folder not found at {SHARED_DATA}: the docs' blocks read the JSB "
            "chorales from it (../shared/data/jsb_chorales.tgz beside the repository clone)"
        )
    monkeypatch.setenv(ENV_MIRROR, str(SHARED_DATA))
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A page may register a sampler (the plugin guide); forget it after the page.
    monkeypatch.setattr(samplers._SAMPLERS, "builtins", dict(samplers._SAMPLERS.builtins))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work


@pytest.mark.parametrize("page", PAGES, ids=[shown(p) for p in PAGES])
def test_page(page: Path, docs_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's Python blocks run in order, in one namespace of their own."""
    blocks = collect(page)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    skipped = [block for block in blocks if block.skip]
    for block in blocks:
        if block.skip is None:
            run_block(block, namespace)
    if skipped:
        reasons: dict[str, list[int]] = {}
        for block in skipped:
            reasons.setdefault(str(block.skip), []).append(block.line)
        with capsys.disabled():
            print(
                f"\n{shown(page)}: {len(blocks) - len(skipped)} blocks run, "
                f"{len(skipped)} skipped: "
                + "; ".join(
                    f"{reason} (line{'s' * (len(lines) > 1)} {', '.join(map(str, lines))})"
                    for reason, lines in reasons.items()
                )
            )


def test_markers(tmp_path: Path) -> None:
    """The collector reads the three markers and refuses one that stands anywhere else."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: skip (needs a GPU) -->\n```python\nfit()\n```\n\n"
        '<!-- docs-test: replace "epochs=300" "epochs=1" "(256, 256)" "(8,)" -->\n'
        "<!-- docs-test: setup\nimport pathlib\npathlib.Path('x').touch()\n-->\n"
        "```python\nfit(epochs=300, units=(256, 256))\n```\n\n"
        "```bash\nbachnet train\n```\n\n    ```py\n    >>> 1 + 1\n    2\n    ```\n",
        encoding="utf-8",
    )
    skip, replaced, doctest_block = collect(page)
    assert (skip.skip, skip.line) == ("needs a GPU", 3)
    assert replaced.source().strip() == "fit(epochs=1, units=(8,))"
    assert replaced.setup == ["import pathlib\npathlib.Path('x').touch()\n"]
    assert doctest_block.code == ">>> 1 + 1\n2\n"
    run_block(doctest_block, {})
    for bad in [
        "<!-- docs-test: skip (why) -->\n\n```python\npass\n```\n",
        "<!-- docs-test: skip (why) -->\n```bash\nls\n```\n",
        "<!-- docs-test: skip -->\n```python\npass\n```\n",
        "<!-- docs-test: ignore -->\n```python\npass\n```\n",
        '<!-- docs-test: replace "a" -->\n```python\npass\n```\n',
    ]:
        page.write_text(bad, encoding="utf-8")
        with pytest.raises(MarkupError):
            collect(page)
    page.write_text('    ```python\n    --8<-- "script.py"\n    ```\n', encoding="utf-8")
    assert collect(page)[0].skip == "only includes a file with --8<--"
    page.write_text('<!-- docs-test: replace "b" "c" -->\n```python\na = 1\n```\n')
    with pytest.raises(MarkupError, match="not in the block"):
        collect(page)[0].source()
