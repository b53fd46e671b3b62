"""torchvision data downloaded by tui-trainer itself (data/download.py): progress lines
with bytes done of the total, one-line errors, no partial file left behind, a stop
that ends it. Served by a local HTTP server: no real network."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import torchvision.datasets as tvd
from data.test_sources import load, one_line_error, write_mnist

from tui_trainer.config import DataConfig
from tui_trainer.data import LoadCancelled, download, load_data
from tui_trainer.errors import DataError

PIECE = 4096


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, bytes]
    cut: set[str]  # paths whose connection closes halfway (Content-Length says all of it)
    requests: list[str]


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        end = len(body) // 2 if self.path in self.server.cut else len(body)
        for i in range(0, end, PIECE):  # slowly, so that progress lines come between pieces
            self.wfile.write(body[i : min(i + PIECE, end)])
            self.wfile.flush()
            time.sleep(0.01)
        self.close_connection = True

    def log_message(self, *args) -> None:  # not on the test's output
        pass


@pytest.fixture
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    srv.files, srv.cut, srv.requests = {}, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def mnist_online(server, tmp_path, monkeypatch):
    """torchvision's MNIST pointed at the local server, which holds a small fake copy."""
    raw = tmp_path / "made" / "raw"
    write_mnist(raw, n_train=200, n_test=40)
    resources = []
    for f in sorted(raw.iterdir()):
        packed = gzip.compress(f.read_bytes(), compresslevel=1)
        server.files[f"/mnist/{f.name}.gz"] = packed
        resources.append((f"{f.name}.gz", hashlib.md5(packed).hexdigest()))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(tvd.MNIST, "mirrors", [f"{base}/gone/", f"{base}/mnist/"])
    monkeypatch.setattr(tvd.MNIST, "resources", resources)
    monkeypatch.setattr(download, "PROGRESS_EVERY", 0.0)  # a line per chunk
    monkeypatch.setattr(download, "CHUNK", PIECE)
    return server


PROGRESS = re.compile(r"^mnist: downloading (\S+) [█░]{20} ([\d.]+ \w+) of ([\d.]+ \w+) \((\d+)%\)")


def test_a_download_reports_its_progress_then_torchvision_unpacks_it(mnist_online, tmp_path):
    log: list[str] = []
    images = load(log=log, dataset="mnist", root=str(tmp_path / "data"), download=True)
    assert images.num_train == 200 and images.num_test == 40
    lines = [m for m in map(PROGRESS.match, log) if m and m[1] == "train-images-idx3-ubyte.gz"]
    total = len(mnist_online.files["/mnist/train-images-idx3-ubyte.gz"])
    percents = [int(m[4]) for m in lines]
    assert len(lines) >= 5 and percents[0] == 0 and percents[-1] == 100, log
    assert percents == sorted(percents) and len(set(percents)) >= 4, "increasing byte counts"
    assert {m[3] for m in lines} == {download.fmt.size(total)}, "each line says the total"
    assert f"mnist: downloaded train-images-idx3-ubyte.gz, {download.fmt.size(total)} in" in "\n".join(log)
    # The first mirror answered 404: said once, and the next one used.
    assert any("HTTP 404" in line and "trying the next mirror" in line for line in log), log
    assert not list((tmp_path / "data").rglob(".*.download"))
    # Present and intact now: a second load asks the network nothing.
    asked = len(mnist_online.requests)
    load(dataset="mnist", root=str(tmp_path / "data"), download=True)
    assert len(mnist_online.requests) == asked


def test_a_cut_connection_leaves_no_file_and_says_so_in_one_line(mnist_online, tmp_path):
    mnist_online.cut.add("/mnist/train-labels-idx1-ubyte.gz")
    with pytest.raises(DataError) as err:
        load(dataset="mnist", root=str(tmp_path / "data"), download=True)
    msg = one_line_error(err)
    assert "train-labels-idx1-ubyte.gz failed: the connection closed after" in msg, msg
    assert "(50%)" in msg and "--data-root" in msg
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert not (raw / "train-labels-idx1-ubyte.gz").exists() and not list(raw.glob(".*"))
    assert (raw / "train-images-idx3-ubyte.gz").is_file(), "the files before it are complete and kept"


def test_what_a_killed_download_left_is_removed_but_not_a_live_one(mnist_online, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    dead, live = raw / ".train-images-idx3-ubyte.gz.4711.download", raw / ".train-images-idx3-ubyte.gz.4712.download"
    dead.write_bytes(b"a download killed long ago")
    live.write_bytes(b"another process's download, in progress")
    old = time.time() - 3 * download.READ_TIMEOUT
    os.utime(dead, (old, old))
    load(dataset="mnist", root=str(tmp_path / "data"), download=True)
    assert not dead.exists() and live.exists()


def test_a_file_that_does_not_match_its_md5_is_not_kept(mnist_online, tmp_path):
    mnist_online.files["/mnist/t10k-images-idx3-ubyte.gz"] = b"not what the md5 says" * 100
    with pytest.raises(DataError) as err:
        load(dataset="mnist", root=str(tmp_path / "data"), download=True)
    assert "sent a damaged t10k-images-idx3-ubyte.gz (its md5 is" in one_line_error(err)
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert not (raw / "t10k-images-idx3-ubyte.gz").exists() and not list(raw.glob(".*"))


def test_a_damaged_file_already_there_is_downloaded_again(mnist_online, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"half a file")
    log: list[str] = []
    assert load(log=log, dataset="mnist", root=str(tmp_path / "data"), download=True).num_train == 200
    assert "mnist: train-labels-idx1-ubyte.gz is damaged (its md5 does not match): downloading it again" in log
    assert (raw / "train-labels-idx1-ubyte.gz").read_bytes() == mnist_online.files["/mnist/train-labels-idx1-ubyte.gz"]


def test_a_stop_ends_a_download_at_its_next_progress_line(mnist_online, tmp_path):
    seen: list[str] = []

    def log(message: str) -> None:  # as the trainer's: a stop raises from the callback
        seen.append(message)
        if len([m for m in seen if PROGRESS.match(m)]) == 3:
            raise LoadCancelled

    with pytest.raises(LoadCancelled):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path / "data"), download=True), log=log)
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()], "nothing half written stays"


def test_no_server_is_one_line(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/cifar-10-python.tar.gz"
    monkeypatch.setattr(tvd.CIFAR10, "url", url)
    with pytest.raises(DataError) as err:
        load(dataset="cifar10", root=str(tmp_path / "cifar"), download=True)
    msg = one_line_error(err)
    assert msg.startswith(f"cifar10: downloading {url} failed: ")
    assert "refused" in msg.lower() and "--data-root" in msg
    assert not list(Path(tmp_path / "cifar").glob("*"))


def test_headless_train_shows_the_download(mnist_online, runs_dir, tmp_path, capsys, monkeypatch):
    from tui_trainer.cli import main

    monkeypatch.setattr(download, "PROGRESS_EVERY", 0.05)
    args = ["train", "digits-cnn", "--headless", "--epochs", "1", "--device", "cpu", "--runs-dir", str(runs_dir)]
    data = ["--set", "data.dataset=mnist", "--set", "data.download=true", "--data-root", str(tmp_path / "data")]
    assert main([*args, *data]) == 0
    out = capsys.readouterr().out.splitlines()
    total = len(mnist_online.files["/mnist/train-images-idx3-ubyte.gz"])
    shown = [line for line in out if PROGRESS.match(line)]
    assert len(shown) >= 3 and f"downloaded train-images-idx3-ubyte.gz, {download.fmt.size(total)} in" in "\n".join(
        out
    ), out
    assert out[-1].startswith("finished: 1 epoch"), out
