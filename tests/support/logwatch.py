"""Tracebacks in the logs of the processes a test started fail that test (issue 18).

Every :class:`~support.server.Server` registers the directory of its log when it starts;
``start_worker`` writes its worker's log into the same directory. :func:`scan` reads what each
``*.log`` file there gained since the previous scan (whole lines only) and returns the excerpts
that hold a Python traceback. ``tests/conftest.py`` scans before and after every test, so new
text is charged to the test that was running, also on a module-scoped server shared by the
tests of a module; a test that provokes a traceback on purpose says so with
``@pytest.mark.allow_tracebacks("reason")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: the first line of every Python traceback (also inside a JSON log line's ``exc_info``)
MARKER = "Traceback (most recent call last)"
#: characters shown of each end of a longer traceback
EXCERPT = 2500
#: where the next log record starts: ionstack's text logs begin with the date, its JSON logs
#: with a brace, uvicorn's own with the level
_NEXT_RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\d[ T]|\{|(DEBUG|INFO|WARNING|ERROR|CRITICAL):)", re.MULTILINE
)

_dirs: dict[Path, None] = {}  # an ordered set
_offsets: dict[Path, int] = {}


@dataclass(frozen=True)
class Found:
    """A traceback's excerpt and the log that held it."""

    path: Path
    excerpt: str

    def __str__(self) -> str:
        return f"--- {self.path} ---\n{self.excerpt}"


def watch(directory: Path) -> None:
    """Scan ``directory/*.log`` from now on (what they already hold counts as new)."""
    _dirs[directory.resolve()] = None


def _new_lines(path: Path) -> str:
    """The complete lines ``path`` gained since the last call; a partial last line waits."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        _offsets.pop(path, None)
        return ""
    start = _offsets.get(path, 0)
    if size < start:  # truncated or replaced: read it again from the start
        start = 0
    if size == start:
        return ""
    with path.open("rb") as fh:
        fh.seek(start)
        chunk = fh.read(size - start)
    end = chunk.rfind(b"\n") + 1
    _offsets[path] = start + end
    return chunk[:end].decode(errors="replace")


def scan() -> list[Found]:
    """Consume the new text of every watched log; the tracebacks in it."""
    found: list[Found] = []
    for directory in list(_dirs):
        for path in sorted(directory.glob("*.log")):
            text = _new_lines(path)
            at = text.find(MARKER)
            while at >= 0:
                # From the log line that carries it (a JSON line), or the one before it (a text
                # log's message line): it says what failed. Up to the next log record.
                start = text.rfind("\n", 0, at) + 1
                if start == at and start > 0:
                    start = text.rfind("\n", 0, start - 1) + 1
                line_end = text.find("\n", at)
                following = _NEXT_RECORD.search(text, len(text) if line_end < 0 else line_end + 1)
                end = len(text) if following is None else following.start()
                found.append(Found(path, _shorten(text[start:end].rstrip("\n"))))
                at = text.find(MARKER, end)
    return found


def _shorten(excerpt: str) -> str:
    """Both ends of a long traceback: what logged it, and the exception raised."""
    if len(excerpt) <= 2 * EXCERPT:
        return excerpt
    return (
        f"{excerpt[:EXCERPT]}\n[… {len(excerpt) - 2 * EXCERPT} characters …]\n{excerpt[-EXCERPT:]}"
    )


def report(found: list[Found], when: str) -> str:
    return (
        f"{len(found)} traceback(s) logged by a server or worker {when}. Fix the cause, or mark "
        'the test @pytest.mark.allow_tracebacks("why it provokes one"):\n\n'
        + "\n\n".join(map(str, found))
    )
