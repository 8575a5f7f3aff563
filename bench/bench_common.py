"""What the benchmark scripts share: options, the model, the book, the report.

Every script prints plain-text tables to stdout and writes the same tables as
Markdown plus the raw numbers as JSON under ``bench/out/`` (git-ignored), as
``<name>-<timestamp>.{md,json}`` and ``<name>-latest.{md,json}``.

The model is the embedded Gemma 3 270M by default (``load_model()``),
another model reference with ``--model``, or the in-process tiny random model
with ``--tiny`` (for checking the scripts, not for numbers).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
SHARED_BOOKS = REPO.parent / "shared" / "data" / "books"
SAMPLE_STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"
SHORT_BOOK = SHARED_BOOKS / "pg1063.txt"
LONG_BOOK = SHARED_BOOKS / "pg2701.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # benchmarks never download
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if str(REPO) not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, str(REPO))


# --- options -----------------------------------------------------------------


def common_parser(description: str, *, default_precision: str = "auto", allow_both: bool = True,
                  default_steps: int = 20) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None,
                   help="model reference for load_model() (folder, .gguf, hub id); default: the embedded Gemma 3 270M")
    p.add_argument("--tiny", action="store_true", help="use the in-process tiny random model (checks the script only)")
    p.add_argument("--steps", type=int, default=default_steps, help="optimizer steps to measure")
    choices = ["auto", "fp32", "bf16"] + (["both"] if allow_both else [])
    p.add_argument("--precision", choices=choices, default=default_precision,
                   help="number format of the base model (auto = what the app picks on this CPU)")
    p.add_argument("--quick", action="store_true", help="small sizes everywhere (for checking the script)")
    p.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where the Markdown and JSON reports go")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    return p


def precisions(choice: str) -> list[str]:
    """The precisions a --precision value stands for, "auto" resolved for this CPU."""
    if choice == "both":
        return ["fp32", "bf16"]
    if choice == "auto":
        from lift_reader.core.model.hardware import choose_placement

        return [choose_placement("cpu", "auto").precision]
    return [choice]


def dtype_of(precision: str):
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]


def apply_threads(args) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


# --- the machine ---------------------------------------------------------------


def machine_facts() -> dict:
    """What a reader of the numbers needs to know about where they came from."""
    import peft
    import torch
    import transformers

    from lift_reader.core.model.hardware import cpu_capability, cpu_has_fast_bf16

    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "CPU cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "CPU capability": cpu_capability(),
        "CPU bf16 units": "yes" if cpu_has_fast_bf16() else "no",
        "load average at start": load,
        "processor": _cpu_model_name(),
    }


def _cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- this process's memory --------------------------------------------------


def _status_kib(field: str) -> int | None:
    """A KiB field of /proc/self/status (VmRSS, VmHWM), None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss() -> int | None:
    """Bytes resident now (psutil, else /proc)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        kib = _status_kib("VmRSS")
        return kib * 1024 if kib is not None else None


def lifetime_peak() -> int:
    """Bytes: the process's peak RSS so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak() -> bool:
    """Restart the kernel's peak-RSS mark (VmHWM) from the current RSS (Linux >= 4.0); True when it worked."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = _status_kib("VmHWM"), _status_kib("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 4096


def peak_since_reset() -> int | None:
    """Bytes: VmHWM, the peak RSS since the last ``reset_peak`` (None without /proc)."""
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else None


# --- the model ---------------------------------------------------------------


@dataclass
class ModelSpec:
    """A loaded model kept as a master copy; ``fresh()`` hands out independent LoadedModels."""

    label: str
    master: object  # LoadedModel
    loaded_in_s: float

    @property
    def tokenizer(self):
        return self.master.tokenizer

    def base_params(self) -> int:
        """Total parameters of the base model (a tied embedding counted once)."""
        return sum(p.numel() for p in self.master.model.parameters())

    def fresh(self, precision: str):
        """A deep copy of the base model in ``precision``, wrapped as a LoadedModel."""
        from lift_reader.core.model.models import wrap_loaded

        model = copy.deepcopy(self.master.model).to(dtype_of(precision))
        lm = wrap_loaded(model, self.master.tokenizer, label=self.master.identity.label,
                         fingerprint=self.master.identity.fingerprint)
        lm.folder = self.master.folder
        return lm


def tiny_parts():
    """The tests' tiny model: a BPE tokenizer trained on the sample story and a 2-layer Gemma 3."""
    from lift_reader.core.model.tiny_model import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer(SAMPLE_STORY.read_text(encoding="utf-8"), vocab_size=512)
    return tok, tiny_model(tok, arch="gemma3")


def tiny_lm(precision: str = "fp32"):
    from lift_reader.core.model.models import wrap_loaded

    tok, model = tiny_parts()
    return wrap_loaded(model.to(dtype_of(precision)), tok, label="tiny-gemma3", fingerprint="tiny0001")


def load_spec(args, *, master_precision: str = "fp32") -> ModelSpec:
    """Load the model once (fp32 master copy unless told otherwise)."""
    t0 = time.perf_counter()
    if args.tiny:
        lm = tiny_lm()
    else:
        from lift_reader.core.model.models import load_model

        lm = load_model(args.model, device="cpu", precision=master_precision,
                        progress=lambda msg: print(msg, file=sys.stderr))
    return ModelSpec(label=lm.identity.label, master=lm, loaded_in_s=time.perf_counter() - t0)


# --- books -------------------------------------------------------------------


def default_book() -> Path:
    return SHORT_BOOK if SHORT_BOOK.is_file() else SAMPLE_STORY


def read_book(path: Path):
    """(BookText, loader) for a book file: core.documents.open_book, or plain text if that is missing."""
    try:
        from lift_reader.core.text.documents import open_book
    except ImportError:
        return plain_text_book(path), "plain-text fallback (lift_reader.core.text.documents.open_book not importable)"
    return open_book(Path(path)), "lift_reader.core.text.documents.open_book"


def plain_text_book(path: Path):
    from lift_reader.core.text.book import BookText

    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    return BookText(text=text, page_starts=[0], title=path.stem, format="txt", source_path=path)


def book_tokens(path: Path, tokenizer):
    """(BookTokens, loader) of a book file."""
    _, tokens, loader = book_and_tokens(path, tokenizer)
    return tokens, loader


def book_and_tokens(path: Path, tokenizer):
    """(BookText, BookTokens, loader) of a book file."""
    from lift_reader.core.text.book_tokens import tokenize_book

    book, loader = read_book(path)
    return book, tokenize_book(book.text, tokenizer), loader


def display_path(path: Path) -> str:
    path = Path(path).resolve()
    for root in (REPO.parent, REPO):
        try:
            return str(path.relative_to(root))
        except ValueError:
            continue
    return str(path)


# --- reports -----------------------------------------------------------------


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append(list(cells))

    def row_labels(self) -> list[str]:
        return [str(r[0]) for r in self.rows]


class Ratio(float):
    """A ratio cell: shown with three decimals (a plain float in the JSON)."""


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, Ratio):
        return f"{value:.3f}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if 0 < abs(value) < 1:
            return f"{value:.2g}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def plain_table(table: Table) -> str:
    cells = [[fmt(c) for c in row] for row in table.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(table.columns)]

    def line(parts):
        return "  ".join(p.ljust(w) if i == 0 else p.rjust(w) for i, (p, w) in enumerate(zip(parts, widths)))

    out = [table.title, line(table.columns), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out += [f"  [{i}] {n}" for i, n in enumerate(table.notes, 1)]
    return "\n".join(out)


def markdown_table(table: Table) -> str:
    out = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + "|"]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in table.rows]
    if table.notes:
        out.append("")
        out += [f"{i}. {n}" for i, n in enumerate(table.notes, 1)]
    return "\n".join(out)


def report(name: str, title: str, tables: list[Table], facts: dict, out_dir: Path,
           extra: dict | None = None) -> dict:
    """Print the tables; write them as Markdown and JSON; return the JSON payload."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fact_lines = [f"{k}: {v}" for k, v in facts.items()]
    print(f"== {title} ==")
    print("\n".join(fact_lines))
    for t in tables:
        print()
        print(plain_table(t))
    sys.stdout.flush()

    payload = {
        "benchmark": name,
        "title": title,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "facts": facts,
        "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows, "notes": t.notes} for t in tables],
        **(extra or {}),
    }
    md = [f"# {title}", "", *[f"- {line}" for line in fact_lines], ""]
    md += [markdown_table(t) + "\n" for t in tables]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem in (f"{name}-{stamp}", f"{name}-latest"):
        (out_dir / f"{stem}.md").write_text("\n".join(md), encoding="utf-8")
        (out_dir / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        paths.append(out_dir / f"{stem}.md")
    print(f"\nwritten: {paths[0]} (+ .json, and {name}-latest.*)")
    payload["written"] = [str(p) for p in paths]
    return payload
