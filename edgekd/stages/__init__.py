"""The stages of `edgekd compress`, one module each, in the order `pipeline.run_stages` calls them:

    teacher -> kd-search (T/alpha, when "auto") -> distill -> export -> prune -> quantize
            -> baseline -> measure -> ort -> report

A stage is a plain function `run(ctx, *needed_results) -> SomeResult` decorated with
`@stage(name, fields=...)` (base.py): it reads the resolved config from `ctx.cfg`, takes the
results of the stages it needs, returns a small dataclass, and is recorded in the manifest with
its config fields, the hashes of the files it read and the files it wrote.
"""
