#!/usr/bin/env bash
# Create the project's virtual environment (.venv) and install the project into it.
# Idempotent: does nothing when .venv already holds an install of the current pyproject.toml and
# ci/constraints.txt. ci/constraints.txt pins the proven stack exactly; it is applied through
# PIP_CONSTRAINT so that it also reaches sdist build environments (visdom needs setuptools<81).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OPEC_VENV:-$root/.venv}"
stamp="$venv/.opec-installed"
want="$(cat "$root/pyproject.toml" "$root/ci/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[setup] installing the project into $venv (first run takes a few minutes)" >&2
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
export PIP_CONSTRAINT="$root/ci/constraints.txt"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[dev]"
echo "$want" >"$stamp"
echo "[setup] done" >&2
