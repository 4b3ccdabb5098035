"""tools/visdom_server.py: asset layout, offline second start, one-line errors (no network)."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from opec.cli import visdom_server as vs


# Files inside the folders the tool copies whole (the rest are single files).
_FOLDER_FILES = {"config/": ["Safe.js", "TeX-AMS-MML_HTMLorMML.js"], "extensions/": ["Safe.js"],
                 "jax/": ["output/SVG/jax.js", "output/SVG/config.js"],
                 "localization/": ["en/en.js"], "fonts/HTML-CSS/TeX/": ["woff/Main.woff"]}


def _fake_npm_cache(cache: Path) -> None:
    """Tarballs shaped like the npm packages (package/<path>), content = the path."""
    npm = cache / "npm"
    npm.mkdir(parents=True)
    for name, version, files in vs.ASSETS:
        with tarfile.open(npm / f"{name}-{version}.tgz", "w:gz") as archive:
            members = [src for src, _ in files if not src.endswith("/")]
            members += [src + f for src, _ in files if src.endswith("/")
                        for f in _FOLDER_FILES[src]]
            members.append("README.md")  # not copied
            for member in dict.fromkeys(members):
                data = f"{name}:{member}".encode()
                info = tarfile.TarInfo("package/" + member)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


def test_layout_version_file_and_offline_second_start(tmp_path, monkeypatch):
    import visdom

    cache, static = tmp_path / "cache", tmp_path / "static"
    _fake_npm_cache(cache)
    monkeypatch.setenv("PATH", "")  # no npm: everything must come from the cache
    vs.prepare_assets(cache, static)
    assert (static / "version.built").read_text() == visdom.__version__
    # The names visdom 0.2.4's index.html and its download step use.
    expected = {
        "js/jquery.min.js": "jquery:dist/jquery.min.js",
        "js/react-react.min.js": "react:umd/react.production.min.js",
        "js/plotly-plotly.min.js": "plotly.js-dist-min:plotly.min.js",
        "js/layout_bin_packer.js": "layout-bin-packer:dist/layout-bin-packer.js",
        "js/d3.v3.min.js": "d3:d3.min.js",
        "css/bootstrap.min.css": "bootstrap:dist/css/bootstrap.min.css",
        "fonts/classnames": "classnames:index.js",
        "fonts/glyphicons-halflings-regular.svg#glyphicons_halflingsregular":
            "bootstrap:dist/fonts/glyphicons-halflings-regular.svg",
        "js/mathjax/2.7.5/MathJax.js": "mathjax:MathJax.js",
        "js/mathjax/2.7.5/config/TeX-AMS-MML_HTMLorMML.js": "mathjax:config/TeX-AMS-MML_HTMLorMML.js",
        "js/mathjax/2.7.5/jax/output/SVG/jax.js": "mathjax:jax/output/SVG/jax.js",
    }
    for rel, content in expected.items():
        assert (static / rel).read_text() == content, rel
    assert not list(static.rglob("README.md"))

    # Second start: nothing to do, even with the cache gone.
    (static / "js" / "jquery.min.js").touch()
    stamp = (static / "js" / "jquery.min.js").stat().st_mtime_ns
    vs.prepare_assets(tmp_path / "empty-cache", static)
    assert (static / "js" / "jquery.min.js").stat().st_mtime_ns == stamp

    # A new static folder (e.g. a re-created virtual environment) is filled from the cache.
    vs.prepare_assets(cache, tmp_path / "static2")
    assert (tmp_path / "static2" / "js" / "sjcl.js").read_text() == "sjcl:sjcl.js"


def test_stale_version_is_reinstalled(tmp_path, monkeypatch):
    import visdom

    cache, static = tmp_path / "cache", tmp_path / "static"
    _fake_npm_cache(cache)
    monkeypatch.setenv("PATH", "")
    vs.prepare_assets(cache, static)
    (static / "version.built").write_text("0.0.1")
    (static / "js" / "sjcl.js").unlink()
    vs.prepare_assets(cache, static)
    assert (static / "version.built").read_text() == visdom.__version__
    assert (static / "js" / "sjcl.js").is_file()


def test_without_npm_or_cache_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(vs, "visdom_static_dir", lambda: tmp_path / "static")
    assert vs.main(["--prepare-only", "--cache-dir", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: npm not found")
    assert not (tmp_path / "static" / "version.built").exists()


def test_tornado_6_6_is_refused(monkeypatch):
    import tornado

    monkeypatch.setattr(tornado, "version", "6.6.0")
    with pytest.raises(vs.AssetError, match="tornado < 6.6"):
        vs.check_tornado()
    monkeypatch.setattr(tornado, "version", "6.5.10")
    vs.check_tornado()


def test_installed_tornado_is_below_6_6():
    import tornado

    assert tuple(int(p) for p in tornado.version.split(".")[:2]) < (6, 6), tornado.version
