"""The columns of `tui-trainer runs` and the runs screen (runs.py): a status with its
reason, resumable, sorting and filtering, and the config keys that differ between runs."""

from __future__ import annotations

import json

from helpers import write_run_folder

from tui_trainer.runs import config_differences, config_of, filter_runs, list_runs, sort_runs, status_text

NAN = "loss became NaN/inf at epoch 7, step 3 of 32 (step 195 of the run); resume it with a lower lr"


def _status(folder, **fields):
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, **fields}))


def _checkpoint(folder, name="epoch_002_acc_60.00.pt", link=True):
    (folder / "checkpoints" / name).write_bytes(b"weights")
    if link:
        (folder / "checkpoints" / "last.pt").symlink_to(name)


def _by_id(runs_dir):
    return {r.id: r for r in list_runs(runs_dir)}


def test_the_status_says_why_a_run_ended_and_only_what_happened(runs_dir):
    failed = write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "failed", [50.0], 10)
    _status(failed, reason=NAN)
    by_user = write_run_folder(runs_dir, "20240102-000000-b", "digits-cnn", "stopped", [50.0], 10)
    _status(by_user, reason="stopped by user")
    limit = write_run_folder(runs_dir, "20240103-000000-c", "digits-cnn", "stopped", [50.0], 10)
    _status(limit, reason="time limit reached")
    write_run_folder(runs_dir, "20240104-000000-d", "digits-cnn", "finished", [50.0], 1)
    write_run_folder(runs_dir, "20240105-000000-e", "digits-cnn", "failed", [], 10)  # an old one: no reason
    words = {i: status_text(r) for i, r in _by_id(runs_dir).items()}
    assert words == {
        "20240101-000000-a": "failed: loss became NaN/inf at epoch 7, step 3 of 32 (step 195 of the run)",
        "20240102-000000-b": "stopped by user",
        "20240103-000000-c": "stopped: time limit reached",
        "20240104-000000-d": "finished",
        "20240105-000000-e": "failed",
    }


def test_a_run_is_resumable_when_it_is_not_finished_and_its_last_checkpoint_is_there(runs_dir):
    linked = write_run_folder(runs_dir, "20240101-000000-linked", "digits-cnn", "stopped", [60.0, 61.0], 10)
    _checkpoint(linked)
    named = write_run_folder(runs_dir, "20240102-000000-named", "digits-cnn", "failed", [60.0], 10)
    _checkpoint(named, link=False)
    _status(named, last_checkpoint="checkpoints/epoch_002_acc_60.00.pt")  # relative to the folder
    dangling = write_run_folder(runs_dir, "20240103-000000-dangling", "digits-cnn", "stopped", [60.0], 10)
    (dangling / "checkpoints" / "last.pt").symlink_to("epoch_001_acc_60.00.pt")  # pruned or deleted
    finished = write_run_folder(runs_dir, "20240104-000000-finished", "digits-cnn", "finished", [60.0], 1)
    _checkpoint(finished)
    write_run_folder(runs_dir, "20240105-000000-none", "digits-cnn", "stopped", [60.0], 10)
    resumable = {i: r.resumable for i, r in _by_id(runs_dir).items()}
    assert resumable == {
        "20240101-000000-linked": True,
        "20240102-000000-named": True,
        "20240103-000000-dangling": False,
        "20240104-000000-finished": False,
        "20240105-000000-none": False,
    }
    assert list_runs(runs_dir)[0].to_json()["resumable"] is False  # in `runs --json` too


def test_sorting_puts_the_best_first_and_missing_figures_last_and_filters_keep_one_kind(runs_dir):
    write_run_folder(runs_dir, "20240101-000000-a", "digits-cnn", "finished", [70.0], 1)
    write_run_folder(runs_dir, "20240102-000000-b", "cnn-cifar10", "failed", [], 10)
    write_run_folder(runs_dir, "20240103-000000-c", "digits-cnn", "stopped", [90.0], 10)
    runs = list_runs(runs_dir)
    assert [r.id[-1] for r in runs] == ["c", "b", "a"]  # newest first, as listed
    assert [r.id[-1] for r in sort_runs(runs, "started")] == ["c", "b", "a"]
    assert [r.id[-1] for r in sort_runs(runs, "best")] == ["c", "a", "b"]  # no accuracy: last
    assert [r.id[-1] for r in sort_runs(runs, "status")] == ["b", "c", "a"]  # failed before finished
    assert [r.id[-1] for r in sort_runs(runs, "preset")] == ["b", "c", "a"]
    assert [r.id[-1] for r in filter_runs(runs, status="stopped")] == ["c"]
    assert [r.id[-1] for r in filter_runs(runs, preset="digits-cnn")] == ["c", "a"]
    assert filter_runs(runs, status="live") == []


def test_the_config_differences_are_the_keys_whose_values_differ_dotted(runs_dir):
    a = write_run_folder(
        runs_dir, "a", "digits-cnn", "finished", [1.0], 1, config={"optim": {"lr": 0.05, "momentum": 0.9}}
    )
    b = write_run_folder(
        runs_dir, "b", "digits-cnn", "finished", [1.0], 1, config={"optim": {"lr": 5e-4, "momentum": 0.9}}
    )
    old = write_run_folder(runs_dir, "c", "digits-cnn", "finished", [1.0], 1)  # config.json of its preset alone
    configs = [config_of(a), config_of(b)]
    assert config_differences(configs) == [("optim.lr", ["0.05", "0.0005"])]  # momentum is the same: left out
    # A config.json of its preset's name alone: every key of the others' is unknown there.
    rows = dict(config_differences([*configs, config_of(old)]))
    assert rows["optim.lr"] == ["0.05", "0.0005", "—"] and rows["optim.momentum"] == ["0.9", "0.9", "—"]
    assert all(values[-1] == "—" and not key.startswith(("train.", "data.")) for key, values in rows.items())
    assert config_of(runs_dir / "missing") == {}


def test_a_key_added_since_an_older_run_is_not_a_difference(runs_dir):
    """config.json holds every key of its day: a key missing from a section it has is
    newer than the run and counts at today's default (log.system_interval came later)."""
    from tui_trainer.config import RunConfig

    today = RunConfig().to_dict()
    older = {**today, "log": {k: v for k, v in today["log"].items() if k != "system_interval"}}
    new = write_run_folder(runs_dir, "new", "digits-cnn", "finished", [1.0], 1, config=today)
    old = write_run_folder(runs_dir, "old", "digits-cnn", "finished", [1.0], 1, config=older)
    assert "system_interval" not in json.loads((old / "config.json").read_text())["log"]
    assert config_differences([config_of(new), config_of(old)]) == []
    changed = {**older, "optim": {**today["optim"], "lr": 0.5}}
    old = write_run_folder(runs_dir, "old2", "digits-cnn", "finished", [1.0], 1, config=changed)
    assert config_differences([config_of(new), config_of(old)]) == [("optim.lr", [config_of(new)["optim.lr"], "0.5"])]
