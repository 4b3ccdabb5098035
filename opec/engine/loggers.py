"""Training loggers: a JSONL file (always), visdom dashboards and TensorBoard (both optional).

Every call of :meth:`Loggers.log_scalars` appends one JSON line to ``<work_dir>/log.jsonl``::

    {"step": 120, "group": "train", "values": {"loss": 0.41, "lr": 0.001}, "time": 1764100000.2}

(``time`` = wall-clock seconds since the epoch; ``step`` counts what the call's ``index`` names:
training iterations for ``group='train'``, epochs for the evaluation groups). The file is opened in append mode and flushed after
every line, so a resumed run continues it and a killed run loses at most the line being written;
after a resume, steps logged between the last checkpoint and the kill appear twice (readers keep the
last line per (group, step)). Non-finite values are written as ``null`` (JSON has no NaN).

:meth:`Loggers.log_image` writes ``<work_dir>/images/<name>_<step>.png`` and a JSONL line
``{"step", "group": "image", "name", "path", "time"}``.

Visdom: line plots, one trace per value key; keys of one family share a window ``<group>/<family>``
where the family is the key up to its first "/" or else its first "_" (so ``loss``, ``loss_stage1``
and ``loss_points`` share ``train/loss``, ``AP`` and ``AP_best`` share ``eval/AP``, ``plain/AP50``
goes to ``eval/plain``, keys ending in ``_time`` share ``<group>/time``, while ``lr`` and
``grad_norm`` get windows of their own); the x axis is labelled with the call's ``index`` ("step" or
"epoch"), and epoch-indexed traces are drawn with markers so that a single point shows. Values that
are None (non-finite, or undefined such as an AP over no images) are left out of the plots. One
image window per image name. Plots are appended to, so a resumed run continues them. The server is checked once with a short timeout; when it does not answer, ONE warning is emitted and visdom is disabled for the run.
Posting happens on a background thread, so a slow or dying server never blocks training; a failure
there also gives one warning and disables visdom.

TensorBoard (``tensorboard=True``): ``<work_dir>/tensorboard/``, tags ``<group>/<key>``.

Only rank 0 should build loggers; the caller decides.
"""
from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from opec.fileio import atomic_write_image

CONNECT_TIMEOUT_S = 2.0  # the start-up check of the visdom server; never longer
_QUEUE_SIZE = 10000  # pending visdom posts; beyond that new posts are dropped, not waited for


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def window_family(key: str) -> str:
    """The visdom window a scalar goes to within its group (see the module docstring)."""
    if "/" in key:
        return key.split("/", 1)[0]
    return "time" if key.endswith("_time") else key.split("_", 1)[0]


class _VisdomSink:
    """Posts line plots and images to a visdom server from a background thread."""

    def __init__(self, server: str, port: int, env: str, base_url: str = "/"):
        import requests
        import visdom

        self.address = f"{server if '://' in server else 'http://' + server}:{port}"
        # Quiet the client's own "no incoming socket" / "new session" log lines.
        logging.getLogger("visdom").setLevel(logging.ERROR)
        # The client posts without a timeout; check the server first so start-up never blocks.
        base = base_url.rstrip("/")
        requests.get(f"{self.address}{base}/", timeout=CONNECT_TIMEOUT_S).raise_for_status()
        with warnings.catch_warnings():  # the client's own deprecated logger.warn calls
            warnings.simplefilter("ignore", DeprecationWarning)
            self.viz = visdom.Visdom(server=server, port=port, env=env, base_url=base_url,
                                     raise_exceptions=True, use_incoming_socket=False)
        self.failed = False
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="visdom-logger", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self.failed:
                continue
            try:
                job()
            except Exception as exc:  # server gone, bad answer: warn once, keep training
                self.failed = True
                warnings.warn(f"visdom server {self.address} stopped answering ({exc}); "
                              "visdom logging disabled, training goes on", RuntimeWarning)

    def submit(self, job: Callable[[], Any]) -> None:
        if self.failed:
            return
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            pass  # the dashboard is best effort; log.jsonl keeps every value

    def line(self, step: int, values: Mapping[str, float], group: str, index: str = "step") -> None:
        opts = dict(showlegend=True, xlabel=index, markers=index == "epoch", markersize=6)
        for key, value in values.items():
            if value is None:
                continue
            win = f"{group}/{window_family(key)}"
            self.submit(lambda key=key, value=value, win=win: self.viz.line(
                X=np.array([step]), Y=np.array([value]), win=win, name=key, update="append",
                opts=dict(opts, title=win)))

    def image(self, step: int, name: str, image_bgr: np.ndarray) -> None:
        chw = np.ascontiguousarray(image_bgr[..., ::-1].transpose(2, 0, 1))
        self.submit(lambda: self.viz.image(chw, win=f"image/{name}",
                                           opts=dict(title=f"{name} (step {step})")))

    def close(self, timeout: float = 10.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout=timeout)


class Loggers:
    """JSONL + optional visdom + optional TensorBoard. Build with :func:`build_loggers`."""

    def __init__(self, work_dir: str | Path, visdom: Mapping | None = None,
                 tensorboard: bool = False):
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl_path = self.work_dir / "log.jsonl"
        self.visdom = None
        if visdom:
            self.visdom = self._connect_visdom(dict(visdom))
        self.tensorboard = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError(f"tensorboard=True needs the 'tensorboard' package ({exc}); pip "
                                  "install tensorboard, or turn TensorBoard logging off") from None
            self.tensorboard = SummaryWriter(log_dir=str(self.work_dir / "tensorboard"))
        self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")

    @staticmethod
    def _connect_visdom(cfg: dict) -> _VisdomSink | None:
        server = cfg.get("server", "http://localhost")
        port = int(cfg.get("port", 8097))
        env = cfg.get("env", "main")
        try:
            return _VisdomSink(server, port, env, cfg.get("base_url", "/"))
        except Exception as exc:
            warnings.warn(f"visdom server {server}:{port} is not reachable "
                          f"({type(exc).__name__}); visdom logging disabled, training goes on "
                          "(start one with: python tools/visdom_server.py)", RuntimeWarning)
            return None

    def _write(self, record: dict) -> None:
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    def log_scalars(self, step: int, values: Mapping[str, float | None], group: str,
                    index: str = "step") -> None:
        """Log ``values`` (name -> number; Python/NumPy/0-d tensor; None = undefined) at ``step``
        under ``group``; ``index`` names what ``step`` counts ("step" or "epoch": the plots' x axis)."""
        clean = {str(k): None if v is None else _finite_or_none(v) for k, v in values.items()}
        self._write({"step": int(step), "group": group, "values": clean, "time": time.time()})
        if self.visdom is not None:
            self.visdom.line(int(step), clean, group, index)
        if self.tensorboard is not None:
            for key, value in clean.items():
                if value is not None:
                    self.tensorboard.add_scalar(f"{group}/{key}", value, int(step))

    def log_image(self, step: int, name: str, image_bgr: np.ndarray) -> None:
        """Save ``image_bgr`` (H, W, 3) uint8 BGR as ``images/<name>_<step>.png`` and show it."""
        image_bgr = np.asarray(image_bgr)
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"log_image({name!r}): expected an (H, W, 3) uint8 BGR image, got "
                             f"shape {image_bgr.shape} dtype {image_bgr.dtype}")
        folder = self.work_dir / "images"
        folder.mkdir(exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        path = folder / f"{safe}_{int(step)}.png"
        atomic_write_image(path, image_bgr)
        self._write({"step": int(step), "group": "image", "name": name,
                     "path": str(path.relative_to(self.work_dir)), "time": time.time()})
        if self.visdom is not None:
            self.visdom.image(int(step), name, image_bgr)
        if self.tensorboard is not None:
            self.tensorboard.add_image(name, image_bgr[..., ::-1].copy(), int(step),
                                       dataformats="HWC")

    def close(self) -> None:
        """Flush and close everything (pending visdom posts get a few seconds)."""
        if self.visdom is not None:
            self.visdom.close()
            self.visdom = None
        if self.tensorboard is not None:
            self.tensorboard.close()
            self.tensorboard = None
        if not self._jsonl.closed:
            self._jsonl.close()

    def __enter__(self) -> "Loggers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_visdom_url(url: str, env: str = "main") -> dict:
    """``"localhost:8097"`` / ``"http://host:8098"`` -> ``dict(server=, port=, env=)`` for
    :func:`build_loggers` (port 8097 when absent); for a ``--visdom`` command-line option."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or 8097
    except ValueError:
        raise ValueError(f"visdom address {url!r}: the port must be a number") from None
    if not parts.hostname:
        raise ValueError(f"visdom address {url!r}: expected host[:port], e.g. localhost:8097")
    return dict(server=f"{parts.scheme}://{parts.hostname}", port=port, env=env)


def build_loggers(work_dir: str | Path, visdom: Mapping | None = None,
                  tensorboard: bool = False) -> Loggers:
    """Loggers writing ``<work_dir>/log.jsonl``; ``visdom=dict(server=, port=, env=)`` adds a
    dashboard (unreachable server: one warning, disabled); ``tensorboard=True`` adds TensorBoard."""
    return Loggers(work_dir, visdom=visdom, tensorboard=tensorboard)
