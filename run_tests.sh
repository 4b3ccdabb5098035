#!/usr/bin/env bash
# Run the test suite (sets up .venv first if needed). Extra arguments go to pytest,
# e.g. `bash run_tests.sh tests/evaluation -x` or `bash run_tests.sh -m slow`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash tools/setup_env.sh
exec .venv/bin/python -m pytest -m "not slow and not browser" "$@"
