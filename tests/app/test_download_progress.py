"""The app shows a data download's progress: its log pane gets the progress lines of
data/download.py while the training thread loads the data (local HTTP server)."""

from __future__ import annotations

from app_helpers import SIZE, until_trained, wait_for
from data.test_download import PROGRESS, mnist_online, server  # noqa: F401 - fixtures
from helpers import tiny_config

from tui_trainer.app.app import TrainerApp
from tui_trainer.data import download
from tui_trainer.launch import Launch
from tui_trainer.runs import Run


async def test_the_dashboard_shows_a_download_as_it_goes(mnist_online, runs_dir, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(download, "PROGRESS_EVERY", 0.05)
    config = tiny_config(data={"dataset": "mnist", "download": True, "root": str(tmp_path / "data")})
    config = config.with_value("train.epochs", 1)
    app = TrainerApp(launch=Launch(config, Run.create(runs_dir, config)))
    async with app.run_test(size=SIZE) as pilot:
        log = app.screen.query_one("#log")

        def shown() -> list[str]:
            return [m for _, m in [*log.lines_kept, *log._pending] if PROGRESS.match(m)]

        await wait_for(pilot, lambda: len(shown()) >= 2, what="download progress lines")
        await until_trained(pilot, app)
        percents = [int(PROGRESS.match(m)[4]) for m in shown() if "train-images" in m]
        assert percents and percents == sorted(percents), shown()
        assert app.session.run.status()["status"] == "finished"
