"""`edgekd search`: the most accurate student that fits a device budget (Optuna, many workers).

    from edgekd.search import load_search_config, search
    base, settings, given = load_search_config("search.yaml", max_size_kb=16)
    result = search(base, settings, student_given=given)

See run.py for the search directory's layout and space.py for the config file's `search:` keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekd.search.space import SearchSettings, parse_settings

DEFAULT_OUT = "runs/search"


def load_search_config(
    path: str | Path | None = None,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    screening_epochs: int | None = None,
    **overrides: Any,
):
    """(base CompressConfig, SearchSettings, student_given) from a config file and flags.

    The file is a compress config plus an optional `search:` mapping; `overrides` are compress
    keys (None: not given). Every problem is an EdgeKDError of one line.
    """
    from edgekd.config import CompressConfig, read_config_file, resolve_values

    values = read_config_file(path) if path else {}
    raw = values.pop("search", None)
    if values.get("run", {}).get("out") is None and overrides.get("out") is None:
        values.setdefault("run", {})["out"] = DEFAULT_OUT
    base = resolve_values(values, **overrides)
    assert isinstance(base, CompressConfig)
    settings, given = parse_settings(
        raw, base_student=base.student.name, trials=trials, timeout=timeout, epochs=screening_epochs
    )
    settings.notices = tuple(getattr(values, "notices", ()))
    return base, settings, given


def search(*args, **kwargs):
    from edgekd.search.run import search as _search

    return _search(*args, **kwargs)


__all__ = ["DEFAULT_OUT", "SearchSettings", "load_search_config", "search"]
