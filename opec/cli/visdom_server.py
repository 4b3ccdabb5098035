"""Start a visdom server whose page works without internet access.

visdom's page needs third-party JS/CSS/fonts that ``python -m visdom.server`` downloads from CDNs at
every start (``visdom.server.build.download_scripts``). This command takes the same files, at the
same versions, from npm packages instead, lays them out under the names visdom's ``index.html``
asks for, writes ``static/version.built`` = the visdom version (so visdom's own build step treats
the folder as built), and then starts the server through ``visdom.server.run_server.main``, which
never touches the network.

The npm tarballs and the prepared file tree are cached (default ``~/.cache/opec/visdom``;
``--cache-dir`` or ``$OPEC_CACHE_DIR`` change it), so only the very first start needs ``npm`` and
the registry; later starts, and re-installs of visdom, work offline and start at once.

    python tools/visdom_server.py                   # http://localhost:8097
    python tools/visdom_server.py --port 8098 --env-path work_dirs/visdom
    python tools/visdom_server.py --prepare-only    # fetch/install the assets, do not serve

The root page opens the environment that last received a plot (a training run logs into the env
named after its config), or ``--env NAME``; visdom's own page would open its empty 'main'.

A bad ``--port`` (out of range, or in use) or an ``--env-path`` under a file is reported in one
line with exit code 2 before anything is fetched; assets that cannot be fetched or installed
(no npm, no network on the first start) give exit code 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem

# (npm package, version, [(path inside the package, path under visdom's static/)]).
# Destination names are the ones visdom 0.2.4's index.html and build.download_scripts use.
_GLYPH = "glyphicons-halflings-regular"
ASSETS = [
    ("jquery", "3.1.1", [("dist/jquery.min.js", "js/jquery.min.js")]),
    ("bootstrap", "3.3.7", [
        ("dist/js/bootstrap.min.js", "js/bootstrap.min.js"),
        ("dist/css/bootstrap.min.css", "css/bootstrap.min.css"),
        (f"dist/fonts/{_GLYPH}.eot", f"fonts/{_GLYPH}.eot"),
        (f"dist/fonts/{_GLYPH}.woff2", f"fonts/{_GLYPH}.woff2"),
        (f"dist/fonts/{_GLYPH}.woff", f"fonts/{_GLYPH}.woff"),
        (f"dist/fonts/{_GLYPH}.ttf", f"fonts/{_GLYPH}.ttf"),
        # visdom keeps the URL fragment in the file name; the plain name is what the CSS loads.
        (f"dist/fonts/{_GLYPH}.svg", f"fonts/{_GLYPH}.svg#glyphicons_halflingsregular"),
        (f"dist/fonts/{_GLYPH}.svg", f"fonts/{_GLYPH}.svg"),
    ]),
    ("react", "16.2.0", [("umd/react.production.min.js", "js/react-react.min.js")]),
    ("react-dom", "16.2.0", [("umd/react-dom.production.min.js", "js/react-dom.min.js")]),
    ("react-modal", "3.1.10", [("dist/react-modal.min.js", "js/react-modal.min.js")]),
    ("plotly.js-dist-min", "2.11.1", [("plotly.min.js", "js/plotly-plotly.min.js")]),
    ("sjcl", "1.0.7", [("sjcl.js", "js/sjcl.js")]),
    ("layout-bin-packer", "1.4.0", [
        ("dist/layout-bin-packer.js", "js/layout_bin_packer.js"),
        ("dist/layout-bin-packer.js.map", "js/layout-bin-packer.js.map"),
    ]),
    ("d3", "3.5.17", [("d3.min.js", "js/d3.v3.min.js")]),
    ("d3-selection-multi", "1.0.1",
     [("build/d3-selection-multi.js", "js/d3-selection-multi.v1.js")]),
    ("save-svg-as-png", "1.4.17", [("lib/saveSvgAsPng.js", "js/saveSvgAsPng.js")]),
    ("react-resizable", "1.4.6", [("css/styles.css", "css/react-resizable-styles.css")]),
    ("react-grid-layout", "0.16.3", [("css/styles.css", "css/react-grid-layout-styles.css")]),
    # visdom stores unpkg's "classnames@2.2.5" answer (the package's main file) as fonts/classnames.
    ("classnames", "2.2.5", [("index.js", "fonts/classnames")]),
    # MathJax: the whole runtime (trailing "/" = a folder), only the TeX web fonts.
    ("mathjax", "2.7.5", [
        ("MathJax.js", "js/mathjax/2.7.5/MathJax.js"),
        ("config/", "js/mathjax/2.7.5/config/"),
        ("extensions/", "js/mathjax/2.7.5/extensions/"),
        ("jax/", "js/mathjax/2.7.5/jax/"),
        ("localization/", "js/mathjax/2.7.5/localization/"),
        ("fonts/HTML-CSS/TeX/", "js/mathjax/2.7.5/fonts/HTML-CSS/TeX/"),
    ]),
]
# One representative file per folder entry is enough to tell that a tree is complete.
REQUIRED_FILES = [dst for _, _, files in ASSETS for _, dst in files if not dst.endswith("/")] + [
    "js/mathjax/2.7.5/config/TeX-AMS-MML_HTMLorMML.js",
    "js/mathjax/2.7.5/jax/output/SVG/jax.js",
]
TORNADO_MAX = (6, 6)  # tornado 6.6 breaks visdom 0.2.4's page


class AssetError(RuntimeError):
    """Assets cannot be fetched or installed (one-line message)."""


def default_cache_dir() -> Path:
    root = os.environ.get("OPEC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "opec")
    return Path(root) / "visdom"


def visdom_static_dir() -> Path:
    from visdom.utils.shared_utils import get_visdom_path
    return Path(get_visdom_path("static"))


def _complete(tree: Path) -> bool:
    return all((tree / rel).is_file() for rel in REQUIRED_FILES)


def _npm_pack(cache_dir: Path) -> dict[str, Path]:
    """Download the npm tarballs (once) into ``cache_dir/npm``; returns name -> tarball path."""
    npm_dir = cache_dir / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)

    def tarball(name: str, version: str) -> Path:
        return npm_dir / f"{name.replace('/', '-')}-{version}.tgz"

    missing = [f"{name}@{version}" for name, version, _ in ASSETS
               if not tarball(name, version).is_file()]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            raise AssetError("npm not found: it is needed once to fetch visdom's page assets "
                             f"({len(missing)} packages) into {npm_dir}; install Node.js/npm")
        print(f"fetching {len(missing)} npm packages into {npm_dir} (first start only)",
              file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=npm_dir) as tmp:
            proc = subprocess.run([npm, "pack", *missing, "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True, cwd=tmp)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise AssetError(f"npm pack failed for visdom's page assets: {last}")
            for name, version, _ in ASSETS:
                got = Path(tmp) / tarball(name, version).name
                if got.is_file():
                    os.replace(got, tarball(name, version))
    return {name: tarball(name, version) for name, version, _ in ASSETS}


def _extract(tarballs: dict[str, Path], tree: Path) -> None:
    """Lay the files out under ``tree`` (visdom's static/ layout)."""
    for name, _, files in ASSETS:
        with tarfile.open(tarballs[name]) as archive:
            members = [m for m in archive.getmembers() if m.isfile()]
            for src, dst in files:
                prefix = "package/" + src
                chosen = [m for m in members
                          if (m.name.startswith(prefix) if src.endswith("/") else m.name == prefix)]
                if not chosen:
                    raise AssetError(f"{tarballs[name]}: no {src!r} in the npm package {name}")
                for member in chosen:
                    target = tree / (dst + member.name[len(prefix):] if src.endswith("/") else dst)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.extractfile(member) as fin, open(target, "wb") as fout:
                        shutil.copyfileobj(fin, fout)


def prepare_assets(cache_dir: Path | None = None, static_dir: Path | None = None) -> Path:
    """Make ``static_dir`` (default: visdom's own) servable offline; returns it.

    Instant when already done; otherwise copies the cached tree (built from the npm tarballs on
    the first call) into place and writes ``version.built`` last.
    """
    import visdom

    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    static_dir = Path(static_dir) if static_dir else visdom_static_dir()
    built = static_dir / "version.built"
    if (built.is_file() and built.read_text().strip() == visdom.__version__
            and _complete(static_dir)):
        return static_dir
    tree = cache_dir / f"static-{visdom.__version__}"
    if not _complete(tree):
        tarballs = _npm_pack(cache_dir)
        staging = Path(tempfile.mkdtemp(prefix=".static-", dir=cache_dir))
        try:
            _extract(tarballs, staging)
            if tree.exists():
                shutil.rmtree(tree)
            os.replace(staging, tree)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(tree, static_dir, dirs_exist_ok=True)
        built.write_text(visdom.__version__)
    except OSError as exc:
        raise AssetError(f"{static_dir}: cannot install visdom's page assets there "
                         f"({exc.strerror}); run once with write access to the visdom package") from None
    return static_dir


def check_tornado() -> None:
    import tornado
    major_minor = tuple(int(p) for p in tornado.version.split(".")[:2])
    if major_minor >= TORNADO_MAX:
        raise AssetError(f"tornado {tornado.version} is installed; visdom 0.2.4's page needs "
                         "tornado < 6.6 (pip install 'tornado>=6,<6.6')")


_LAST_ENV: dict[str, str] = {}  # "name": the environment that received a plot last


def open_run_env_at_root(env: str | None = None) -> None:
    """Make the server's root page open a run's environment instead of visdom's 'main'.

    The root page redirects to ``/env/<env>``, or without ``env`` to the environment that last
    received a plot or an update (so ``opec-train --visdom`` shows up where the browser already
    is); before any plot arrives the root page is visdom's own. Patches visdom's request handlers
    of this process (call it before the server starts).
    """
    import json
    from urllib.parse import quote

    from visdom.server.handlers import web_handlers
    from visdom.utils.server_utils import extract_eid

    if getattr(web_handlers.IndexHandler, "opens_run_env", False):
        return

    def remembering(post):
        def wrapped(self, *args, **kwargs):
            try:
                _LAST_ENV["name"] = extract_eid(json.loads(self.request.body))
            except (ValueError, TypeError, AttributeError):  # not a JSON object: visdom answers it
                pass
            return post(self, *args, **kwargs)
        return wrapped

    for handler in (web_handlers.PostHandler, web_handlers.UpdateHandler):
        handler.post = remembering(handler.post)

    index = web_handlers.IndexHandler.get

    def get(self, path, **kwargs):
        target = env or _LAST_ENV.get("name")
        if path in ("", "/") and target and (not self.login_enabled or self.current_user):
            return self.redirect(f"{self.base_url.rstrip('/')}/env/{quote(target)}")
        return index(self, path, **kwargs)

    web_handlers.IndexHandler.get = get
    web_handlers.IndexHandler.opens_run_env = True


def serve(port: int, hostname: str, env_path: str | None, bind_local: bool, env: str | None = None) -> None:
    """Run visdom's own server entry point (blocks until interrupted); the root page opens ``env``
    (see :func:`open_run_env_at_root`)."""
    from visdom.server import run_server

    open_run_env_at_root(env)
    argv = ["visdom", "-port", str(port), "--hostname", hostname]
    if env_path:
        Path(env_path).mkdir(parents=True, exist_ok=True)
        argv += ["-env_path", str(Path(env_path).resolve()) + os.sep]
    if bind_local:
        argv.append("-bind_local")
    sys.argv = argv
    run_server.main()


def port_problem(port: int, bind_local: bool) -> str | None:
    """Why the server cannot listen on ``port``, or None (checked before the assets are prepared)."""
    import errno
    import socket

    if not 1 <= port <= 65535:
        return f"--port: expected a port number from 1 to 65535, got {port}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1" if bind_local else "", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"--port {port}: already in use (another visdom server?); choose another --port"
            return f"--port {port}: cannot listen there ({exc.strerror or exc})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8097, help="port to serve on (default 8097)")
    parser.add_argument("--host", default="localhost",
                        help="host name shown in the printed URL (default localhost)")
    parser.add_argument("--bind-local", action="store_true",
                        help="accept connections from this machine only")
    parser.add_argument("--env-path", default=None,
                        help="folder where visdom keeps its environments (default ~/.visdom/)")
    parser.add_argument("--env", default=None,
                        help="environment the root page opens (default: the one that received a plot "
                             "last, e.g. the running training's <config name>)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"npm tarballs and prepared assets (default {default_cache_dir()})")
    parser.add_argument("--prepare-only", action="store_true",
                        help="install the page assets and exit without serving")
    args = parser.parse_args(argv)
    problem = output_folder_problem(args.env_path, "--env-path") or (
        None if args.prepare_only else port_problem(args.port, args.bind_local))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        check_tornado()
        static_dir = prepare_assets(args.cache_dir)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.prepare_only:
        print(f"visdom page assets ready in {static_dir}")
        return 0
    try:
        serve(args.port, args.host, args.env_path, args.bind_local, args.env)
    except OSError as exc:
        print(f"error: cannot serve on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0

