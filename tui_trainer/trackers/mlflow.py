"""An MLflow run of a run's events, live (``log.mlflow_uri``) or replayed (``tui-trainer export``).

The library is MLflow's own ``MlflowClient`` (the ``mlflow`` extra: ``mlflow-skinny`` and
SQLAlchemy, enough for a ``sqlite:`` store or a tracking server; imported only when
asked). The client, not the fluent ``mlflow.start_run`` API: it keeps no process-wide
active run, so a training process's own MLflow use is left alone. The MLflow run is
named by the run folder's id (also its ``tui_trainer.run_id`` tag, by which a resume
finds it and goes on in it); its params are :func:`.scalars.hparams`, its metrics the
scalars of :mod:`.scalars` at their global step, sent in batches (at most every
``FLUSH_S`` seconds and at each epoch's end), and its status FINISHED, KILLED (stopped)
or FAILED from the run's end event. MLflow keeps every value logged, so a live resume
repeats the steps past its checkpoint; an export has each step once. System samples
(:meth:`MlflowWriter.add_sample`, from the sampler's thread) are queued with them and
sent by the training thread: the client is only ever used from one thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .. import events as ev
from ..errors import ConfigError
from . import import_extra
from .scalars import hparams, scalars, system_scalars

EXPERIMENT = "tui-trainer"
RUN_TAG = "tui_trainer.run_id"
FLUSH_S = 5.0
BATCH = 100  # params in one request: MLflow's limit
STATUSES = {ev.Finished: "FINISHED", ev.Stopped: "KILLED", ev.Failed: "FAILED"}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class MlflowWriter:
    """An event subscriber logging to an MLflow run at ``uri``."""

    def __init__(
        self, uri: str, experiment: str = EXPERIMENT, what: str = "log.mlflow_uri", resume: bool = True
    ) -> None:
        """``resume``: a run the store has already (an earlier attempt's) is gone on in;
        else (an export) it is a one-line ConfigError."""
        self.uri, self.experiment, self.what, self.resume = uri, experiment, what, resume
        self.client: Any = None
        self.run_id: str | None = None
        self._metrics: list[Any] = []  # to send; the lock's, as samples come from another thread
        self._lock = threading.Lock()
        self._flushed = 0.0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._open(event)
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        found = [Metric(s.tag, s.value, _ms(s.time), s.step) for s in scalars(event)]
        with self._lock:
            self._metrics += found
        if isinstance(event, ev.EpochEnd) or time.monotonic() - self._flushed >= FLUSH_S:
            self._flush()
        if isinstance(event, ev.END_EVENTS):
            self._end(event)

    def add_sample(self, sample: dict[str, Any]) -> None:
        """A system sample's scalars, from any thread: queued for the next send (none
        while no MLflow run is open)."""
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        found = [Metric(s.tag, s.value, _ms(s.time), s.step) for s in system_scalars(sample)]
        with self._lock:
            if self.run_id is not None:
                self._metrics += found

    def _open(self, started: ev.RunStarted) -> None:
        mlflow = import_extra("mlflow", self.what)
        self.close()
        for name in ("mlflow.store.db.utils", "alembic"):  # a new store's "Creating tables": not the app's screen
            logging.getLogger(name).setLevel(logging.WARNING)
        self.client = client = mlflow.MlflowClient(tracking_uri=self.uri)
        found = client.get_experiment_by_name(self.experiment)
        experiment = found.experiment_id if found else client.create_experiment(self.experiment)
        run = self._existing(experiment, started.run_id)
        if run is not None and not self.resume:
            raise ConfigError(
                f"{self.uri}: already holds run {started.run_id} (experiment {self.experiment!r}); "
                "give another tracking URI or delete that run"
            )
        if run is None:
            tags = {RUN_TAG: started.run_id, "preset": started.preset}
            run = client.create_run(experiment, start_time=_ms(started.time), tags=tags, run_name=started.run_id)
        else:
            client.update_run(run.info.run_id, status="RUNNING")
        self.run_id = run.info.run_id
        self._log_params(run.data.params, hparams(started.config))
        self._flushed = time.monotonic()

    def _existing(self, experiment: str, run_id: str) -> Any:
        """The MLflow run an earlier attempt of this run made, if any."""
        runs = self.client.search_runs([experiment], filter_string=f"tags.`{RUN_TAG}` = '{run_id}'", max_results=1)
        return runs[0] if runs else None

    def _log_params(self, logged: dict[str, str], params: dict[str, Any]) -> None:
        """The params not logged yet (MLflow's params cannot change: a resume's new
        ``train.epochs`` keeps the first attempt's)."""
        from mlflow.entities import Param

        new = [Param(k, str(v)) for k, v in params.items() if k not in logged]
        for i in range(0, len(new), BATCH):
            self.client.log_batch(self.run_id, params=new[i : i + BATCH])

    def _flush(self) -> None:
        with self._lock:
            metrics, self._metrics = self._metrics, []
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)
        self._flushed = time.monotonic()

    def _end(self, event: ev.Event) -> None:
        self.close(STATUSES[type(event)], event.time)

    def close(self, status: str = "KILLED", end: float | None = None) -> None:
        """End the MLflow run (KILLED, unless an end event said otherwise)."""
        if self.run_id is None:
            return
        try:
            self._flush()
        finally:
            with self._lock:
                run_id, self.run_id, self._metrics = self.run_id, None, []
            self.client.set_terminated(run_id, status, end_time=_ms(end if end is not None else time.time()))
