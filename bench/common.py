"""Helpers shared by the benchmark scripts.

Nothing here imports Odoo at module level: ``run.py`` only drives subprocesses
and talks HTTP, the Odoo work happens in ``populate.py`` and ``engine.py``.
"""

import contextlib
import json
import os
import pathlib
import socket
import statistics

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"

# Portal customers: one per volume level, with a known login and password.
CUSTOMER_LOGIN = "bench_portal_{volume}"
CUSTOMER_PASSWORD = "bench-{volume}-pw"  # noqa: S105 (throwaway database)
# Customers with invoices only, the same in the addon's and in a core-only database.
INVOICE_CUSTOMER_LOGIN = "bench_invoices_{volume}"

# Tags (client_order_ref) of the company-wide subscriptions of the renewal engine.
ENGINE_REF = "bench-engine-{level}-{kind}"
ENGINE_KINDS = ("grace", "card")


def addons_path():
    """Odoo's own addons, the OCA addons the scripts install and this repository."""
    if os.environ.get("BENCH_ADDONS_PATH"):
        return os.environ["BENCH_ADDONS_PATH"]
    import odoo.release

    odoo_root = pathlib.Path(odoo.release.__file__).resolve().parent.parent
    candidates = [odoo_root / "addons", odoo_root / "odoo" / "addons"]
    # scripts/lib.sh installs the OCA addons of requirements.txt there.
    candidates.append(REPO_DIR / ".local" / "addons" / "odoo" / "addons")
    candidates.append(REPO_DIR)
    paths = []
    for path in candidates:
        path = str(path.resolve())
        if os.path.isdir(path) and path not in paths:
            paths.append(path)
    return ",".join(paths)


@contextlib.contextmanager
def odoo_env(db, logfile=None):
    """A superuser environment on ``db``; the caller commits."""
    import odoo
    from odoo.tools import config

    args = ["-d", db, f"--addons-path={addons_path()}", "--log-level=warn"]
    if logfile:
        args.append(f"--logfile={logfile}")
    config.parse_config(args)
    registry = odoo.modules.registry.Registry(db)
    with registry.cursor() as cr:
        yield odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def median(values):
    return statistics.median(values) if values else float("nan")


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_json(path, data):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, default=str)
