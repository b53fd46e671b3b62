"""`eval`'s confusions: the text's worst-confusions table and --json's confusion,
worst_confusions and misclassified (cli/commands.py cmd_eval), in process."""

from __future__ import annotations

import json

from helpers import run_tiny, tiny_config

from tui_trainer.cli import main
from tui_trainer.evaluate import MISCLASSIFIED


def test_eval_json_and_text_give_the_confusions(runs_dir, capsys):
    # Too small a learning rate to learn: there are confusions to list.
    _, run, _, _ = run_tiny(runs_dir, tiny_config(train={"epochs": 1}, optim={"lr": 1e-6}))
    checkpoint = str(run.dir / "checkpoints" / "last.pt")
    assert main(["eval", checkpoint, "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    matrix = result["confusion"]
    assert [sum(row) for row in matrix] == [c["total"] for c in result["classes"]], "rows: the true class"
    assert [matrix[i][i] for i in range(4)] == [c["correct"] for c in result["classes"]]
    names = [c["name"] for c in result["classes"]]
    top = result["worst_confusions"][0]
    t, p = names.index(top["true"]), names.index(top["predicted"])
    assert top["count"] == matrix[t][p] and top["share"] == 100 * matrix[t][p] / sum(matrix[t])
    assert len(result["misclassified"]) == MISCLASSIFIED
    assert set(result["misclassified"][0]) == {"index", "true", "predicted", "confidence"}

    assert main(["eval", checkpoint, "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "Worst confusions" in out and "of the true class" in out
    row = next(line for line in lines if top["true"] in line and top["predicted"] in line and "%" in line)
    assert f"{top['share']:.2f}%" in row and str(top["count"]) in row.split()
