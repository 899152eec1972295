"""Where a study lives: a journal file (the default, `<out>/study.journal`) or a database.

`--storage` takes:

- a path, `journal:PATH` or `file:PATH`: Optuna's journal file; every worker that can open the
  same file (one machine, or a shared file system with working file locks) joins the study;
- an SQLAlchemy URL (`postgresql://user:pass@host/db`, `mysql+pymysql://...`, `sqlite:///x.db`):
  Optuna's RDB storage, for workers on many machines (trials that stop sending heartbeats are
  marked failed by the next worker);
- `redis://host:port/db`: Optuna's journal on Redis (needs the `redis` package).

Every failure to open the storage is one EdgeKDError line naming the URL (password hidden).
"""

from __future__ import annotations

import re
from pathlib import Path

from edgekd.errors import EdgeKDError, first_line

RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
HEARTBEAT_S = 60
GRACE_S = 180
CONNECT_TIMEOUT_S = 10


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def _scheme(url: str) -> str:
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", url)
    return m.group(1).split("+")[0].lower() if m else ""


def describe(url: str | None, default: Path) -> str:
    return redact(url) if url else str(default)


def open_storage(url: str | None, default: Path):
    """An Optuna storage for `url` (None: the journal file `default`), checked by a read."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    scheme = _scheme(url) if url else ""
    shown = describe(url, default)
    try:
        if scheme in RDB_SCHEMES:
            kwargs = {}
            if scheme in ("postgresql", "postgres", "mysql", "mariadb"):
                kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
            storage = optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S, **kwargs
            )
        elif scheme == "redis":
            from optuna.storages.journal import JournalRedisBackend

            storage = JournalStorage(JournalRedisBackend(url))
        elif scheme and scheme not in ("file", "journal"):
            raise EdgeKDError(
                f"study storage '{shown}': unknown scheme '{scheme}://'; use a journal file path, "
                "sqlite:///PATH, postgresql://USER:PASS@HOST/DB, mysql://... or redis://..."
            )
        else:
            path = Path(re.sub(r"^(journal|file):(//)?", "", url) if url else default)
            if not path.parent.is_dir():
                raise EdgeKDError(
                    f"study storage '{shown}': folder '{path.parent}' does not exist; create it "
                    "or give another path"
                )
            storage = JournalStorage(JournalFileBackend(str(path)))
        storage.get_all_studies()  # a real round trip: fails now if the server is unreachable
    except EdgeKDError:
        raise
    except ModuleNotFoundError as e:
        raise EdgeKDError(
            f"study storage '{shown}' needs the Python package '{e.name}'; pip install it "
            "(e.g. psycopg2-binary for PostgreSQL, pymysql for MySQL, redis for Redis)"
        ) from None
    except Exception as e:
        text = first_line(e)
        if "import DB access module" in text:  # Optuna's wording for a missing DB driver
            raise EdgeKDError(
                f"study storage '{shown}' needs the database driver for '{scheme}'; pip install "
                "it (psycopg2-binary for PostgreSQL, pymysql for MySQL)"
            ) from None
        hint = (
            "check the path and that its folder is writable"
            if scheme == "sqlite"
            else "check the URL and that the server is running and reachable"
        )
        raise EdgeKDError(f"cannot open study storage '{shown}': {text}; {hint}") from None
    return storage
