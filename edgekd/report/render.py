"""Human-facing views of report.json: Markdown and the terminal table share one row builder."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from edgekd.atomic import write_text_atomic
from edgekd.bench.table import host_line
from edgekd.pages.text import count_text, macs_cell, md_table, retention_text, size_text

HEADERS = [
    "artifact",
    "precision",
    "accuracy",
    "retention",
    "size",
    "params",
    "MACs",
    "p50 ms",
    "p90 ms",
    "mem added MB",
]


def artifact_rows(report: dict) -> list[list[str]]:
    rows = []
    for a in report["artifacts"]:
        mem = a["memory_mb"].get("added")
        name = a["name"] + (" (final)" if a["name"] == report["final"] else "")
        rows.append(
            [
                name,
                a["precision"],
                f"{a['accuracy']:.4f}",
                retention_text(a["retention"]),
                size_text(a["size_bytes"]),
                count_text(a["params"]),
                macs_cell(a),
                f"{a['latency_ms']['p50']:.3f}",
                f"{a['latency_ms']['p90']:.3f}",
                "n/a" if mem is None else f"{mem:.1f}",
            ]
        )
    return rows


def check_rows(report: dict) -> list[list[str]]:
    verdicts = {True: "ok", False: "MISSED", None: "not measured"}
    return [
        [
            c["metric"],
            "n/a" if c["value"] is None else f"{c['value']:.4g}",
            f"{c['limit']:.4g}",
            verdicts[c["ok"]],
        ]
        for c in report["budget"]["checks"]
    ]


def _verdict(report: dict) -> str:
    b = report["budget"]
    return f"budget '{b['profile']}': " + ("all limits met" if b["ok"] else "a limit is MISSED")


def _teacher_md(t: dict) -> list[str]:
    """Where the teacher came from; an ensemble's members with their own accuracies."""
    trained = ", trained in this run" if t.get("trained_here") else ""
    line = f"`{t['spec']}`: {t['kind']} teacher, {t['n_classes']} classes{trained}"
    if t["kind"] != "ensemble":
        return [f"{line}; outputs {t['output']}."]
    rows = [
        [m["spec"], m["kind"], m["output"], f"{m['weight']:.3g}", f"{m['test_accuracy']:.4f}"]
        for m in t["members"]
    ]
    rows.append(["ensemble", "", "", "1", f"{t['test_accuracy']:.4f}"])
    return [
        f"{line}. Soft targets are the weighted mean of the members' tempered probabilities; "
        "teacher.onnx is the ensemble in one graph, so retention is against the ensemble.",
        md_table(["member", "kind", "outputs", "weight", "test accuracy (PyTorch/ORT)"], rows),
    ]


def _pruning_md(p: dict) -> list[str]:
    """The pruning section: what was removed, and accuracy before/after each KD fine-tune."""
    head = (
        f"{p['method']} pruning, ratio {p['ratio']} ({p['ratio_meaning']}), {p['steps']} "
        f"step(s), {p['importance']} importance, {p['scope']} scope; output layer(s) kept "
        f"whole: {', '.join(p['output_layers_kept'])}. PyTorch parameters "
        f"{count_text(p['params_before'])} -> {count_text(p['params_after'])}."
    )
    if p.get("sparsity") is not None:
        head += f" Weight sparsity {p['sparsity']:.1%}."
    parts = [head]
    before, after = p["channels_before"], p["channels_after"]
    if before != after:
        rows = [[k, str(before[k]), str(after.get(k, "?"))] for k in before]
        parts.append(md_table(["layer", "channels before", "channels after"], rows))
    acc = "n/a" if p.get("val_accuracy_before") is None else f"{p['val_accuracy_before']:.4f}"
    rows = [
        [
            str(h["step"]),
            f"{h['target_ratio']:.3f}",
            count_text(h["params"]),
            f"{h['val_accuracy_pruned']:.4f}" if "val_accuracy_pruned" in h else "n/a",
            f"{h['val_accuracy_finetuned']:.4f}" if "val_accuracy_finetuned" in h else "n/a",
        ]
        for h in p["history"]
    ]
    parts.append(
        f"Validation accuracy before pruning: {acc}.\n\n"
        + md_table(["step", "ratio", "params", "val acc pruned", "val acc after KD"], rows)
    )
    return parts


def _distillation_md(d: dict) -> list[str]:
    """What KD added over the same student trained alone, and how T and alpha were chosen."""
    settings = f"T = {d['temperature']:g}, alpha = {d['alpha']:g}"
    if d.get("transfer"):
        settings += f", transfer set {d['transfer']}"
    search = d.get("search")
    if search:
        chosen = (d["temperature"], d["alpha"])
        rows = [
            [
                f"{t['temperature']:g}",
                f"{t['alpha']:g}",
                f"{t['val_accuracy']:.4f}",
                f"{t['val_loss']:.4f}",
                "chosen" if (t["temperature"], t["alpha"]) == chosen else "",
            ]
            for t in search["trials"]
        ]
        parts = [
            f"{' and '.join(search['searched'])} chosen by a short search on the validation "
            f"split ({search['epochs_per_trial']} epochs per trial; {search['metric']}): "
            f"{settings}.",
            md_table(["T", "alpha", "val accuracy", "val loss", ""], rows),
        ]
    else:
        parts = [f"Settings: {settings}."]
    parts += _recipe_md(d.get("training_recipe"))
    if d.get("baseline_accuracy") is not None:
        gap = "n/a (no gap)" if d["gap_closed"] is None else f"{d['gap_closed']:.0%}"
        row = [
            f"{d['teacher_accuracy']:.4f}",
            f"{d['baseline_accuracy']:.4f}",
            f"{d['kd_accuracy']:.4f}",
            f"{d['gain'] * 100:+.2f} points",
            gap,
        ]
        headers = ["teacher", "student alone (baseline)", "distilled student", "KD gain", "gap"]
        parts.append(md_table(headers, [row]))
        parts.append(
            "Gap closed = (distilled - alone) / (teacher - alone), fp32 ONNX accuracies on the "
            "test split. Both students start from the same weights and train with the same "
            "recipe (augmentation, schedule, epochs), so the gain is distillation's alone."
        )
        plain = (d.get("baseline_training") or {}).get("plain_scratch")
        if plain:
            parts.append(
                f"Plain scratch (what you have without edgekd: hard labels, no augmentation, "
                f"{plain['epochs']} epochs, one-cycle): {plain['test_accuracy']:.4f} "
                "(PyTorch model, test split)."
            )
    parts.append(f"**{d['verdict']}**" if d.get("helped") is False else d["verdict"])
    if d.get("suggestions"):
        parts.append("Try: " + "; ".join(d["suggestions"]) + ".")
    return parts


def _recipe_md(r: dict | None) -> list[str]:
    """How the student was trained: recipe, views, teacher online or cached, patience."""
    if not r:
        return []
    views = "no augmentation" if r["augment"] == "none" else f"augmentation {r['augment']}"
    teacher = (
        "the teacher run online on the same augmented batch the student sees"
        if r["teacher_online"]
        else "the teacher's logits cached once"
    )
    line = (
        f"Recipe: {r['recipe']}, {views}, {teacher}; {r['schedule']} schedule, "
        f"{r['epochs']} epochs ({r['steps']} steps; epochs from the {r['epochs_from']})."
    )
    if r.get("teacher_view_accuracy") is not None:
        line += (
            f" Teacher accuracy on augmented training views: {r['teacher_view_accuracy']:.4f} "
            "(a view that breaks the class breaks the teacher first)."
        )
    return [line]


def render_markdown(report: dict) -> str:
    host = report["host"]
    lat = report["artifacts"][0]["latency_ms"]
    parts = [
        f"# edgekd report: {report['config']['data']} -> {report['final']}",
        f"**{_verdict(report)}**",
        md_table(HEADERS, artifact_rows(report)),
        f"Accuracy on the held-out test split, measured by onnxruntime on the ONNX files. "
        f"Latency: batch {lat['batch']}, {lat['threads']} thread(s), {lat['runs']} runs "
        f"after warm-up, models interleaved. Memory: peak of a fresh child process (VmHWM) "
        f"minus the bare runtime.",
        "## Budget checks",
        md_table(["metric", "value", "limit", "verdict"], check_rows(report)),
    ]
    final = next((a for a in report["artifacts"] if a["name"] == report["final"]), {})
    if final.get("ort_path"):
        parts.append(
            f"ONNX Runtime Mobile: `{final['ort_path']}` "
            f"({size_text(final['ort_size_bytes'])}) and "
            f"`{final['ort_config']}` for a reduced-size onnxruntime build."
        )
    teacher = report.get("training", {}).get("teacher")
    if teacher and teacher.get("kind"):
        parts += ["## Teacher", *_teacher_md(teacher)]
    if report.get("distillation"):
        parts += ["## Distillation", *_distillation_md(report["distillation"])]
    if report.get("pruning"):
        parts += ["## Pruning", *_pruning_md(report["pruning"])]
    quant = report.get("quantization")
    if quant:
        from edgekd.quantize.table import HEADERS as QUANT_HEADERS
        from edgekd.quantize.table import candidate_rows, caption, why_lines

        table = md_table(QUANT_HEADERS, candidate_rows(quant))
        parts += ["## Quantization", quant["reason"], table, caption(quant)]
        parts += ["\n".join(f"- {line}" for line in why_lines(quant))] if why_lines(quant) else []
    if report.get("notes"):
        parts += ["## Notes", "\n".join(f"- {n}" for n in report["notes"])]
    parts.append(
        f"Host: {host['cpu']}, {host['cores']} cores; onnxruntime {host['onnxruntime']}, "
        f"torch {host['torch']}; edgekd {report['edgekd_version']}. {host_line(host)}."
    )
    return "\n\n".join(parts) + "\n"


def write_reports(run_dir: Path, report: dict) -> list[Path]:
    from edgekd.report.html import render_html

    paths = [
        write_text_atomic(run_dir / "report.json", json.dumps(report, indent=2)),
        write_text_atomic(run_dir / "report.md", render_markdown(report)),
        write_text_atomic(run_dir / "report.html", render_html(report)),
    ]
    return paths


def print_summary(report: dict, console: Console) -> None:
    table = Table(title=f"edgekd: {report['config']['data']} -> {report['final']}")
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("artifact", "precision") else "right")
    for row in artifact_rows(report):
        table.add_row(*row)
    console.print(table)
    checks = Table(title=_verdict(report))
    for h in ("metric", "value", "limit", "verdict"):
        checks.add_column(h)
    for row in check_rows(report):
        checks.add_row(*row, style=None if row[-1] == "ok" else "bold red")
    console.print(checks)
    if report.get("quantization"):
        from edgekd.quantize.table import rich_table

        console.print(rich_table(report["quantization"]))
        console.print(report["quantization"]["reason"], soft_wrap=True, highlight=False)
    kd = report.get("distillation") or {}
    if kd.get("search"):
        console.print(
            f"KD settings chosen by search: T={kd['temperature']:g}, alpha={kd['alpha']:g}"
        )
    if kd.get("baseline_accuracy") is not None:
        console.print(
            f"distillation: {kd['verdict']}", style="bold red" if kd["helped"] is False else None
        )
