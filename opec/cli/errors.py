"""What every command-line tool shares about errors: exit code 2 and one line on stderr."""
from __future__ import annotations

EXIT_BAD_INPUT = 2


def one_line(exc: BaseException) -> str:
    """``exc``'s message as one line.

    An error raised in a DataLoader worker reaches the main process re-raised with the worker's
    whole traceback as its message; its last line is the original ``module.Error: message``, which
    is what the user needs (e.g. the unreadable image's path).
    """
    text = str(exc).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        head, sep, message = last.partition(": ")
        text = message if sep and " " not in head else last
    return " ".join(text.split()) or type(exc).__name__


def output_folder_problem(folder, option: str, named=None) -> str | None:
    """Why ``folder`` (an output folder, created when absent) cannot be used, or None (also when
    ``folder`` is None: no output asked for). The message starts with ``named`` (default: the
    folder), e.g. the output file the user gave, of which ``folder`` is the parent.

    Checked before any work starts, so that a tool never fails after processing every input.
    """
    from pathlib import Path

    if folder is None:
        return None
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"{named or folder}: {option}: {existing} is a file, not a folder"
    return None
