"""The benchmark scripts run end to end on the tiny model and report the rows they promise.

Numbers are not checked (the tiny model says nothing about speed); the
shapes of the tables and the files under --out-dir are.  One torch thread
keeps these quick on a busy machine.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _table(payload: dict, title_start: str) -> dict:
    (table,) = [t for t in payload["tables"] if t["title"].startswith(title_start)]
    return table


def _check_files(out_dir: Path, name: str) -> None:
    assert (out_dir / f"{name}-latest.md").is_file()
    saved = json.loads((out_dir / f"{name}-latest.json").read_text(encoding="utf-8"))
    assert saved["benchmark"] == name and saved["tables"]


def test_train_throughput_compare_before_ends_with_the_speedup(tmp_path, capsys):
    import train_throughput as tt

    payload = tt.main(["--tiny", "--steps", "2", "--quick", "--precision", "bf16", "--threads", "1",
                       "--compare-before", "--rounds", "2", "--book", str(STORY), "--out-dir", str(tmp_path)])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup: \d+\.\d\dx", last)
    table = _table(payload, "Issue 14: the app's recipe before and after")
    assert [r[0] for r in table["rows"]] == [tt.BEFORE, tt.AFTER]
    assert float(last.split()[1][:-1]) == pytest.approx(table["rows"][1][-1], abs=0.006)
    assert table["rows"][0][5] is None and 0 < table["rows"][1][5] <= 100  # rows kept: only with the filter
    _check_files(tmp_path, "train_throughput-compare")


def test_train_throughput(tmp_path):
    import train_throughput as tt

    payload = tt.main(["--tiny", "--steps", "3", "--quick", "--precision", "both", "--threads", "1", "--app-recipe",
                       "--micro-batch", "1", "2",
                       "--matmul-seconds", "0.05", "--book", str(STORY), "--out-dir", str(tmp_path)])
    ceiling = _table(payload, "Matmul ceiling")
    assert [r[0] for r in ceiling["rows"]] == ["fp32", "bf16"] and all(r[2] > 0 for r in ceiling["rows"])
    table = _table(payload, "Training throughput")
    loops = (tt.OURS, f"{tt.OURS}, 2 segments a step", tt.OURS_APP, tt.NAIVE)
    assert {(r[0], r[1]) for r in table["rows"]} == {(loop, p) for loop in loops for p in ("fp32", "bf16")}
    for row in table["rows"]:
        loop, precision, tokens_per_s, s_per_step, ratio, vs_naive_fp32, bf16_pct, own_pct, _warmup = row
        assert tokens_per_s > 0 and s_per_step > 0 and bf16_pct > 0 and own_pct > 0 and vs_naive_fp32 > 0
        assert (ratio is not None) == (loop != tt.NAIVE)
        assert (vs_naive_fp32 == 1.0) == (loop == tt.NAIVE and precision == "fp32")
    # Two segments a step train twice the tokens of one (quick mode's 64-token segments).
    per_step = {r["loop"]: r["tokens_per_step"] for r in payload["results"] if r["precision"] == "fp32"}
    assert per_step[f"{tt.OURS}, 2 segments a step"] == 2 * per_step[tt.OURS] == 128
    assert payload["facts"]["torch"] and payload["facts"]["CPU capability"]
    _check_files(tmp_path, tt.NAME)


def test_memory_by_book_length(tmp_path):
    import memory_by_book_length as mem

    story = STORY.read_text(encoding="utf-8")
    long_book = tmp_path / "story-x4.txt"
    long_book.write_text("\n\n".join([story] * 4), encoding="utf-8")
    payload = mem.main(["--tiny", "--steps", "3", "--quick", "--precision", "fp32", "--threads", "1",
                        "--parallel", "--short", str(STORY), "--long", str(long_book), "--out-dir", str(tmp_path / "out")])
    table = _table(payload, "Peak memory")
    assert [r[0] for r in table["rows"]] == [STORY.name, long_book.name, mem.RATIO]
    short, long, ratio = table["rows"]
    assert 0 < short[2] < long[2] and 3 < ratio[2] < 5  # tokens: about four times as many
    assert all(v > 0 for v in short[4:8] + long[4:8])  # RSS columns in MiB
    (run,) = payload["runs"]
    assert run["short"]["steps_done"] == run["long"]["steps_done"] == 3
    assert run["short"]["last_event"] == "cancelled"
    _check_files(tmp_path / "out", mem.NAME)


def test_answer_speed(tmp_path):
    import answer_speed as ans

    payload = ans.main(["--tiny", "--steps", "2", "--quick", "--precision", "fp32", "--threads", "1",
                        "--switches", "6", "--book", str(STORY), "--out-dir", str(tmp_path)])
    gen = _table(payload, "Greedy generation")
    assert [r[0] for r in gen["rows"]] == [ans.BASE, ans.ADAPTER, ans.DISABLED]
    assert all(r[2] > 0 and r[4] > 0 for r in gen["rows"])  # TTFT ms, decode tokens/s
    pre = _table(payload, "Prompt prefill")
    assert [r[0] for r in pre["rows"]] == [ans.PREFILL_ALL, ans.PREFILL_LAST]
    switch = _table(payload, "Adapter switching")
    assert [r[0] for r in switch["rows"]] == [ans.SWITCH, ans.FIRST_ATTACH]
    assert switch["rows"][0][5] == 6 and switch["rows"][1][5] == 2
    _check_files(tmp_path, ans.NAME)


def test_cost_curve(tmp_path):
    import cost_curve as cc

    payload = cc.main(["--tiny", "--quick", "--precision", "fp32", "--threads", "1", "--book", str(STORY),
                       "--out-dir", str(tmp_path)])
    table = _table(payload, "Cost of one needle question")
    sizes = [r[0] for r in table["rows"]]
    assert len(sizes) == 2 and sizes[0] == 256 and sizes[1] < 1024  # 1,024 does not fit the tiny model's window
    assert any("context window is 1,024 tokens" in n for n in table["notes"])
    for row in table["rows"]:
        (size, tokens, icl_s, _, icl_correct, icl_mib, icl_after_load_mib, memorize_s, lift_s, total_s, lift_mib,
         lift_after_load_mib, _, lift_correct) = row
        assert 0 < tokens <= size and icl_correct in ("yes", "no") and lift_correct in ("yes", "no")
        assert min(icl_s, icl_mib, memorize_s, lift_s, lift_mib) > 0 and total_s == memorize_s + lift_s
        if sys.platform.startswith("linux"):  # the peak-RSS mark restarted after loading the model
            assert 0 < icl_after_load_mib <= icl_mib and 0 < lift_after_load_mib <= lift_mib
    assert [r[0].split(" (")[0] for r in _table(payload, "Crossover")["rows"]] == [
        "time", "peak memory after model load", "peak memory, whole process"]
    assert [r[0] for r in _table(payload, "Break-even")["rows"]] == sizes
    for row in payload["rows"]:  # the needle sits near the middle; ICL saw the whole text
        assert 0.25 < row["needle_at"] < 0.75 and row["icl"]["answer"]["needle_in_prompt"]
    _check_files(tmp_path, cc.NAME)
    assert (tmp_path / f"{cc.NAME}-latest.png").stat().st_size > 1000


def test_recipe_sweep_variants_spell_out_their_settings_and_reuse_matching_scores(tmp_path):
    from dataclasses import replace

    import recipe_sweep as rs

    from lift_reader.cli import build_parser
    from lift_reader.cli.recipe import memorize_settings as _memorize_settings

    default = rs.recipe({})
    assert default == rs.DEFAULT_RECIPE
    parser = build_parser()
    for name, (_, overrides) in rs.VARIANTS.items():
        # The flags a variant runs with give, through the real eval parser, exactly the default recipe
        # with the variant's changes: nothing more, nothing less.
        args = parser.parse_args(["eval", "questions.jsonl", *rs.recipe(overrides)])
        assert _memorize_settings(args, "cpu") == replace(rs.DEFAULT_SETTINGS, **overrides), name
    # Scores are copied from the first source that has the document, never over existing ones.
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"documents": [{"doc_id": "other", "conditions": {}}]}))
    second.write_text(json.dumps({"documents": [{"doc_id": "d3", "conditions": {"icl": {"key": "k"}}}]}))
    folder = tmp_path / "variant"
    rs.seed_scores([tmp_path / "missing.json", first, second], "d3", folder)
    (seeded,) = (folder / "docs").iterdir()
    assert json.loads(seeded.read_text())["conditions"] == {"icl": {"key": "k"}}
    seeded.write_text("{}")
    rs.seed_scores([second], "d3", folder)
    assert seeded.read_text() == "{}"
