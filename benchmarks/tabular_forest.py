"""A scikit-learn forest, exported to ONNX, distilled into a tiny MLP for a microcontroller.

The forest never leaves ONNX: edgekd runs it through onnxruntime as the teacher (its ZipMap
probabilities are detected and turned into log-probabilities), distills an `mlp` student that
standardizes the raw features inside its own graph, exports and quantizes it, and measures
both files against the `mcu` budget. Data: scikit-learn's bundled breast-cancer and wine sets,
a stratified 25% test split per seed that neither the forest nor the student trains on. Two
settings: `defaults` (`--student mlp` and nothing else) and `tuned` (hand-picked, hinton KD).

    python benchmarks/tabular_forest.py            # full: writes benchmarks/results/
    python benchmarks/tabular_forest.py --quick    # small, for the test suite
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results

DATASETS = ("breast_cancer", "wine")
TARGET_RETENTION = 0.98  # issue 13: `--student mlp` and nothing else keeps this much
# `defaults`: what a user gets from `edgekd compress --data D --teacher T.onnx --student mlp`;
# `tuned`: the hand-picked settings this table showed before recipes existed (hinton KD).
SETTINGS = {
    "defaults": {"student": "mlp"},
    "tuned": {
        "student": "mlp:width=0.25",
        "recipe": "hinton",
        "epochs": 200,
        "lr": 1e-2,
        "batch_size": 32,
        "temperature": 2.0,
        "alpha": 0.7,
    },
}


def _load(name: str):
    from sklearn import datasets

    x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return x.astype(np.float32), y.astype(np.int64)


def run_one(name: str, work: Path, *, quick: bool, setting: str = "tuned", seed: int = 0) -> dict:
    from rich.console import Console
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    from edgekd.config import resolve_config
    from edgekd.pipeline import compress

    x, y = _load(name)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    data = work / f"{name}.npz"
    np.savez(data, X=x_tr, y=y_tr, X_test=x_te, y_test=y_te)
    trees = 20 if quick else 300
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(x_tr, y_tr)
    teacher = work / f"{name}_forest.onnx"
    teacher.write_bytes(to_onnx(forest, x_tr[:1]).SerializeToString())
    options = dict(SETTINGS[setting], **({"epochs": 5} if quick else {}))
    cfg = resolve_config(
        data=str(data),
        teacher=[str(teacher)],
        **options,
        budget="mcu",
        quantize="none" if quick else "auto",
        latency_runs=10 if quick else 300,
        seed=seed,
        out=str(work / f"run_{name}_{setting}_{seed}"),
    )
    result = compress(cfg, console=Console(stderr=True, quiet=quick))
    rows = {a["name"]: a for a in result.report["artifacts"]}
    final = rows[result.report["final"]]
    return {
        "data": name,
        "setting": setting,
        "seed": seed,
        "options": options,
        "samples": {"train": len(x_tr), "test": len(x_te)},
        "features": int(x.shape[1]),
        "classes": int(y.max() + 1),
        "forest_trees": trees,
        "sklearn_forest_accuracy": float(forest.score(x_te, y_te)),
        "teacher": _row(rows["teacher"]),
        "student": _row(rows["student"]),
        "final": {"name": final["name"], **_row(final)},
        "budget_ok": result.report["budget"]["ok"],
    }


def _row(a: dict) -> dict:
    return {
        "accuracy": a["accuracy"],
        "retention": round(a["retention"], 4),
        "size_bytes": a["size_bytes"],
        "params": a["params"],
        "latency_p50_ms": a["latency_ms"]["p50"],
    }


def render(results: list[dict], quick: bool) -> str:
    lines = [
        "# Tabular: a scikit-learn forest (ONNX) distilled into a tiny MLP",
        "",
        "Produced by `python benchmarks/tabular_forest.py`"
        + (" --quick (smoke-test settings, not a result)" if quick else "")
        + ". Accuracy on a stratified 25% test split (one per seed), measured by onnxruntime",
        "on the ONNX files; the teacher is the forest's own ONNX file (skl2onnx) run by",
        "onnxruntime. Settings: "
        + "; ".join(
            f"`{k}` = {', '.join(f'{o}={v}' for o, v in opts.items())}"
            for k, opts in SETTINGS.items()
        )
        + " (everything else at edgekd's defaults).",
        "",
        "| data | settings | seed | teacher (forest) acc | teacher size | student acc | retention"
        " | student size | student params | final artifact | final size | final acc |",
        "|---|---|---:|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t, s, f = r["teacher"], r["student"], r["final"]
        lines.append(
            f"| {r['data']} ({r['features']} features, {r['classes']} classes) "
            f"| {r['setting']} | {r['seed']} "
            f"| {t['accuracy']:.4f} | {t['size_bytes'] / 1024:.1f} KB "
            f"| {s['accuracy']:.4f} | {s['retention']:.3f} | {s['size_bytes'] / 1024:.1f} KB "
            f"| {s['params']} | {f['name']} | {f['size_bytes'] / 1024:.1f} KB "
            f"| {f['accuracy']:.4f} |"
        )
    lines += ["", f"## Retention at defaults (target >= {TARGET_RETENTION})", ""]
    for name in dict.fromkeys(r["data"] for r in results):
        kept = [
            r["final"]["retention"]
            for r in results
            if r["data"] == name and r["setting"] == "defaults"
        ]
        if kept:
            met = min(kept) >= TARGET_RETENTION
            lines.append(
                f"- {name}: shipped artifact's retention mean {sum(kept) / len(kept):.3f}, "
                f"lowest {min(kept):.3f} over {len(kept)} seed(s): "
                + ("met" if met else "**missed**")
            )
    lines += [
        "",
        "The student takes the raw features (standardization is inside its graph). Sizes are",
        "the single ONNX files; a forest's size grows with its trees, the MLP's does not.",
        "Test sets are small (143 and 45 samples): one sample is 0.7 and 2.2 points.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings, for tests")
    parser.add_argument("--results", type=Path, help="where to write the .md/.json")
    parser.add_argument("--data", choices=DATASETS, action="append", help="default: both")
    parser.add_argument(
        "--settings", nargs="+", choices=list(SETTINGS), help="default: both (quick: tuned)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (quick: 0)")
    args = parser.parse_args(argv)
    results_md = args.results or (
        RESULTS / "tabular_forest.md" if not args.quick else Path("tabular_forest.quick.md")
    )
    settings = args.settings or (["tuned"] if args.quick else list(SETTINGS))
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.data or DATASETS:
            for setting in settings:
                for seed in seeds:
                    r = run_one(name, Path(tmp), quick=args.quick, setting=setting, seed=seed)
                    results.append(r)
                    print(
                        f"{name} {setting} seed {seed}: teacher (forest, ONNX) accuracy "
                        f"{r['teacher']['accuracy']:.4f}, student accuracy "
                        f"{r['student']['accuracy']:.4f} (retention "
                        f"{r['student']['retention']:.3f}); final {r['final']['name']} "
                        f"{r['final']['size_bytes'] / 1024:.1f} KB at "
                        f"{r['final']['accuracy']:.4f}",
                        flush=True,
                    )
    write_results(results_md.parent, results_md.stem, results, render(results, args.quick))
    return results


if __name__ == "__main__":
    main()
