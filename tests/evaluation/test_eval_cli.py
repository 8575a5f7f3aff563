"""`lift-reader eval` from a terminal (subprocess, tiny model folder)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from lift_reader.cli import build_parser
from lift_reader.cli.eval import CONDITION_NAMES, reproducing_command

SAMPLE_STORY = Path(__file__).resolve().parents[2] / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


def test_the_cli_knows_every_condition():
    from lift_reader.core.evaluation import CONDITION_NAMES as core_names

    assert CONDITION_NAMES == core_names


def test_the_reproducing_command_spells_out_every_setting():
    args = build_parser().parse_args(["--model", "m", "eval", "q.jsonl", "--docs", "2", "--epochs", "3"])
    command = reproducing_command(args, 1024, ("icl", "lift+icl"), Path("out"))
    assert command == ("lift-reader --model m eval q.jsonl --docs 2 --conditions icl,lift+icl --seed 0 "
                       "--context-tokens 1024 --max-new-tokens 32 --retrieval bm25 --epochs 3 --out out")
    again = build_parser().parse_args(command.split()[1:])
    assert again.docs == 2 and again.epochs == 3 and again.context_tokens == 1024


def test_the_reproducing_command_spells_out_the_memorize_recipe():
    from lift_reader.core.memorize.settings import MemorizeSettings

    args = build_parser().parse_args(["eval", "q.jsonl", "--epochs", "3"])
    recipe = MemorizeSettings.for_hardware("cpu").with_changes(epochs=3)
    command = reproducing_command(args, 1024, ("icl",), Path("out"), recipe)
    assert command.endswith("--epochs 3 --lr 0.0001 --segment-length 256 --rank 16 --target-modules all-linear "
                            "--aux --aux-per-1k 2 --contextualized --out out")
    again = build_parser().parse_args(command.split()[1:])
    from lift_reader.cli.recipe import memorize_settings as _memorize_settings

    assert _memorize_settings(again, "cpu") == recipe  # the command gives back the same recipe


def test_eval_command_writes_the_three_outputs(lift_home, tmp_path, capsys):
    from lift_reader.cli import main
    from lift_reader.core.model.tiny_model import save_tiny_model_folder

    story = SAMPLE_STORY.read_text(encoding="utf-8")
    model = save_tiny_model_folder(tmp_path / "tiny", story)
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"doc_id": "d", "title": "Ledger", "text": story[:3000], "items": [
        {"id": "1", "type": "open", "question": "Who brings the mail?", "answers": ["the mail boat"]}]}) + "\n")
    out = tmp_path / "out"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:  # in-process: a subprocess would spend most of its time importing torch
        code = main(["--model", str(model), "--precision", "fp32", "eval", str(questions),
                     "--conditions", "closed", "icl,rag", "--max-new-tokens", "4", "--resamples", "50",
                     "--out", str(out), "--quiet"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = (out / "results.md").read_text()
    command = report.splitlines()[5]
    assert command.startswith("lift-reader --model ") and "--conditions closed,icl,rag" in command
    assert command in printed.err and "| rag |" in printed.out
    assert (out / "results.png").is_file() and json.loads((out / "results.json").read_text())["command"] == command
