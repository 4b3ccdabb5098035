"""Loggers: JSONL content and resume, images on disk, an unreachable visdom server."""
from __future__ import annotations

import json
import socket
import time
import warnings

import numpy as np
import pytest

from opec.engine.loggers import (CONNECT_TIMEOUT_S, build_loggers, parse_visdom_url,
                                 window_family)


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_jsonl_one_line_per_call(tmp_path):
    before = time.time()
    with build_loggers(tmp_path) as loggers:
        loggers.log_scalars(0, {"loss": 1.5, "lr": np.float32(0.25)}, group="train")
        loggers.log_scalars(1, {"AP_plain": 0.7, "AP_best": 0.72}, group="map")
    records = _read_jsonl(tmp_path / "log.jsonl")
    assert [(r["step"], r["group"]) for r in records] == [(0, "train"), (1, "map")]
    assert records[0]["values"] == {"loss": 1.5, "lr": 0.25}
    assert records[1]["values"] == {"AP_plain": 0.7, "AP_best": 0.72}
    assert all(before <= r["time"] <= time.time() for r in records)


def test_jsonl_appends_across_runs_and_handles_nan(tmp_path):
    with build_loggers(tmp_path) as loggers:
        loggers.log_scalars(0, {"loss": 2.0}, group="train")
    with build_loggers(tmp_path) as loggers:  # a resumed run
        loggers.log_scalars(1, {"loss": float("nan")}, group="train")
    text = (tmp_path / "log.jsonl").read_text()
    assert "NaN" not in text  # strict JSON
    records = _read_jsonl(tmp_path / "log.jsonl")
    assert [r["step"] for r in records] == [0, 1]
    assert records[1]["values"] == {"loss": None}


def test_jsonl_written_before_close(tmp_path):
    """A killed run keeps every line logged so far (flushed per call)."""
    loggers = build_loggers(tmp_path)
    loggers.log_scalars(3, {"loss": 0.5}, group="train")
    assert _read_jsonl(tmp_path / "log.jsonl")[0]["step"] == 3
    loggers.close()


def test_log_image_writes_png_and_line(tmp_path):
    import cv2

    image = np.zeros((20, 30, 3), np.uint8)
    image[5:10, 5:10] = (255, 0, 0)  # blue in BGR
    with build_loggers(tmp_path) as loggers:
        loggers.log_image(7, "before/after", image)
    record = _read_jsonl(tmp_path / "log.jsonl")[0]
    assert record["group"] == "image" and record["step"] == 7 and record["name"] == "before/after"
    saved = cv2.imread(str(tmp_path / record["path"]))
    np.testing.assert_array_equal(saved, image)
    assert not list((tmp_path / "images").glob(".*"))  # no temporary file left


def test_log_image_rejects_bad_array(tmp_path):
    with build_loggers(tmp_path) as loggers:
        with pytest.raises(ValueError, match="uint8 BGR"):
            loggers.log_image(0, "x", np.zeros((4, 4), np.float32))


def test_unreachable_visdom_one_warning_and_training_goes_on(tmp_path):
    port = _closed_port()
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loggers = build_loggers(tmp_path, visdom=dict(server="http://127.0.0.1", port=port,
                                                      env="test"))
        for step in range(5):
            loggers.log_scalars(step, {"loss": 1.0 / (step + 1)}, group="train")
        loggers.log_image(0, "panel", np.zeros((8, 8, 3), np.uint8))
        loggers.close()
    assert time.monotonic() - start < CONNECT_TIMEOUT_S + 5
    messages = [str(w.message) for w in caught if "visdom" in str(w.message)]
    assert len(messages) == 1 and "not reachable" in messages[0]
    assert len(_read_jsonl(tmp_path / "log.jsonl")) == 6  # JSONL still complete


def test_tensorboard_writes_event_file(tmp_path):
    pytest.importorskip("tensorboard")
    with build_loggers(tmp_path, tensorboard=True) as loggers:
        loggers.log_scalars(0, {"loss": 1.0}, group="train")
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


@pytest.fixture
def visdom_server(tmp_path):
    """A visdom server (its own entry point, no page assets needed) on a free local port, with the
    root page of opec-visdom_server (opening the environment that received a plot last)."""
    import subprocess
    import sys

    port = _closed_port()
    # base_url='' as run_server.main passes it (start_server's default '/' breaks the routes)
    code = ("import sys; from visdom.server.run_server import start_server; "
            "from opec.cli.visdom_server import open_run_env_at_root; open_run_env_at_root(); "
            "start_server(port=int(sys.argv[1]), env_path=sys.argv[2], base_url='', "
            "bind_local=True)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(port), str(tmp_path / "envs") + "/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("visdom server did not start within 30 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
def test_live_visdom_gets_one_trace_per_key(tmp_path, visdom_server):
    import visdom

    cfg = dict(server="http://127.0.0.1", port=visdom_server, env="opec_test")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a reachable server gives no warning
        with build_loggers(tmp_path / "run", visdom=cfg) as loggers:
            for step in range(3):
                loggers.log_scalars(step, {"AP_plain": 0.1 * step, "AP_best": 0.2 * step},
                                    group="mAP")
            loggers.log_image(2, "panel", np.full((6, 9, 3), 128, np.uint8))
    viz = visdom.Visdom(server=cfg["server"], port=cfg["port"], env=cfg["env"],
                        use_incoming_socket=False, raise_exceptions=True)
    window = json.loads(viz.get_window_data(win="mAP/AP", env=cfg["env"]))
    traces = {trace["name"]: trace for trace in window["content"]["data"]}
    assert set(traces) == {"AP_plain", "AP_best"}
    assert traces["AP_best"]["x"] == [0, 1, 2]
    np.testing.assert_allclose(traces["AP_best"]["y"], [0.0, 0.2, 0.4])
    assert viz.win_exists("image/panel", env=cfg["env"])


@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
def test_epoch_plots_markers_undefined_values_and_the_root_page(tmp_path, visdom_server):
    import requests
    import visdom

    root = f"http://127.0.0.1:{visdom_server}/"
    assert requests.get(root, allow_redirects=False, timeout=10).status_code == 200  # no plot yet: visdom's page
    cfg = dict(server="http://127.0.0.1", port=visdom_server, env="my_run")
    with build_loggers(tmp_path / "run", visdom=cfg) as loggers:
        # one evaluation so far; AP_easy undefined (None, as the trainer logs the evaluator's -1)
        loggers.log_scalars(0, {"AP": 0.5, "AP_best": 0.6, "plain/AP_easy": None, "plain/AP50": 0.7},
                            group="eval", index="epoch")
        loggers.log_scalars(3, {"loss": 1.0}, group="train")
    viz = visdom.Visdom(server=cfg["server"], port=cfg["port"], env=cfg["env"],
                        use_incoming_socket=False, raise_exceptions=True)
    window = json.loads(viz.get_window_data(win="eval/AP", env=cfg["env"]))
    assert window["content"]["layout"]["xaxis"]["title"] == "epoch"
    assert {t["name"]: t["mode"] for t in window["content"]["data"]} == {"AP": "lines+markers",
                                                                         "AP_best": "lines+markers"}
    plain = json.loads(viz.get_window_data(win="eval/plain", env=cfg["env"]))
    assert [t["name"] for t in plain["content"]["data"]] == ["plain/AP50"]  # the undefined value is left out
    train = json.loads(viz.get_window_data(win="train/loss", env=cfg["env"]))
    assert train["content"]["layout"]["xaxis"]["title"] == "step"
    assert train["content"]["data"][0]["mode"] == "lines"
    # The root page now opens the run's environment.
    answer = requests.get(root, allow_redirects=False, timeout=10)
    assert answer.status_code in (301, 302) and answer.headers["Location"] == "/env/my_run"


def test_trainer_logs_undefined_metrics_as_none():
    from opec.engine.trainer import _defined

    assert _defined({"AP": 0.5, "AP_easy": -1.0, "AP_hard": 0.0}) == {"AP": 0.5, "AP_easy": None, "AP_hard": 0.0}


def test_window_families():
    assert window_family("loss") == window_family("loss_stage1") == "loss"
    assert window_family("AP_best") == "AP"
    assert window_family("plain/AP_easy") == "plain"
    assert window_family("lr") == "lr" != window_family("grad_norm")
    assert window_family("data_time") == window_family("batch_time") == "time"


def test_parse_visdom_url():
    assert parse_visdom_url("localhost:8098", env="run1") == dict(
        server="http://localhost", port=8098, env="run1")
    assert parse_visdom_url("https://vis.example.org") == dict(
        server="https://vis.example.org", port=8097, env="main")
    with pytest.raises(ValueError, match="port must be a number"):
        parse_visdom_url("localhost:eighty")
