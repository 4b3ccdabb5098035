"""Start a visdom server whose page works without internet access.

Thin wrapper: the logic is opec/cli/visdom_server.py, also installed as ``opec-visdom-server``.
"""
from opec.cli.visdom_server import main

if __name__ == "__main__":
    raise SystemExit(main())
