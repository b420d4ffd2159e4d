"""Small environment probes shared by scripts/run.sh and scripts/test.sh.

Each subcommand prints one result on stdout, or one line on stderr and exits
non-zero; the shell scripts turn that into a single clear message.
Only the standard library and what Odoo itself depends on (psycopg2) are used.
"""

import argparse
import importlib.metadata
import os
import re
import socket
import sys


def _pg_connect(dbname):
    """Connect as Odoo would: libpq reads PGHOST/PGPORT/PGUSER/PGPASSWORD."""
    import psycopg2

    return psycopg2.connect(dbname=dbname, connect_timeout=5)


def _odoo_addon_dists_in(folder):
    """Names of the installed distributions that put files in ``folder``/odoo."""
    names = set()
    for dist in importlib.metadata.distributions():
        if os.path.realpath(str(dist.locate_file(""))) != os.path.realpath(folder):
            continue
        if any(file.parts[:1] == ("odoo",) for file in dist.files or ()):
            names.add(dist.metadata["Name"])
    return sorted(names)


def _shadowing_folders(odoo_module):
    """The plain ``odoo`` folders that hide Odoo, when ``odoo`` is a namespace.

    A package installed in editable mode by today's pip (setuptools' editable
    finder) is found after every folder on ``sys.path``: an ``odoo/`` folder
    without ``__init__.py`` there, such as the one OCA addon wheels create in
    site-packages, then wins the import as an empty namespace package.
    """
    if getattr(odoo_module, "__file__", None):
        return []
    return [os.path.dirname(path) for path in getattr(odoo_module, "__path__", [])]


def cmd_check_odoo(_args):
    try:
        import odoo
    except ImportError as exc:
        sys.exit(f"missing: cannot import odoo ({exc})")
    shadows = _shadowing_folders(odoo)
    if shadows:
        culprits = sorted(
            {name for path in shadows for name in _odoo_addon_dists_in(path)}
        )
        folders = ", ".join(os.path.join(path, "odoo") for path in shadows)
        sys.exit(
            f"shadowed: {folders} hides Odoo"
            + (f" (installed there by {', '.join(culprits)})" if culprits else "")
            + "|"
            + " ".join(culprits)
        )
    try:
        import odoo.release
    except ImportError as exc:
        sys.exit(f"missing: cannot import odoo.release ({exc})")
    major = odoo.release.version_info[0]
    if major != 18:
        sys.exit(f"missing: found Odoo {odoo.release.version}, not 18.0")
    try:
        import odoo.service.server  # noqa: F401  (pulls Odoo's own dependencies)
    except ImportError as exc:
        sys.exit(f"deps: {exc}")
    print(odoo.release.version)


def cmd_addons_path(args):
    """Odoo's own addons folders, the managed OCA addons folder, extras."""
    import odoo.release

    root = os.path.dirname(os.path.dirname(os.path.abspath(odoo.release.__file__)))
    candidates = [os.path.join(root, "addons"), os.path.join(root, "odoo", "addons")]
    for target in args.target:
        candidates.append(os.path.join(target, "odoo", "addons"))
    candidates.extend(args.extra)
    paths = []
    for path in candidates:
        path = os.path.realpath(path)
        if os.path.isdir(path) and path not in paths:
            paths.append(path)
    print(",".join(paths))


def cmd_check_pg(_args):
    last_error = None
    for dbname in ("postgres", "template1"):
        try:
            _pg_connect(dbname).close()
        except ImportError as exc:
            sys.exit(f"psycopg2 missing ({exc})")
        except Exception as exc:  # any libpq failure means "not reachable"
            last_error = exc
        else:
            return
    sys.exit(" ".join(str(last_error).split()))


def cmd_module_state(args):
    """Print 'absent' (no database), 'empty' (not an Odoo database), or the
    state of the module in ir_module_module ('uninstalled', 'installed', ...)."""
    conn = _pg_connect("postgres")
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db])
            exists = cr.fetchone()
    finally:
        conn.close()
    if not exists:
        print("absent")
        return
    conn = _pg_connect(args.db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('ir_module_module')")
            if cr.fetchone()[0] is None:
                print("empty")
                return
            cr.execute(
                "SELECT state, demo FROM ir_module_module WHERE name = %s",
                [args.module],
            )
            row = cr.fetchone()
    finally:
        conn.close()
    if not row:
        print("unknown")
    elif args.with_demo:
        print(row[0], "demo" if row[1] else "nodemo")
    else:
        print(row[0])


def cmd_missing_requirements(args):
    """Print the pinned requirements (name==version) not installed in ``--target``."""
    installed = {
        dist.metadata["Name"].lower().replace("_", "-"): dist.version
        for dist in importlib.metadata.distributions(path=[args.target])
    }
    with open(args.file, encoding="utf-8") as req_file:
        for line in req_file:
            line = line.split("#", 1)[0].strip()
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
            if not match:
                continue
            name, version = match.groups()
            if installed.get(name.lower().replace("_", "-")) != version:
                print(line)


def cmd_free_port(_args):
    """A TCP port free on 127.0.0.1 now, for the tests' HTTP server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-odoo").set_defaults(func=cmd_check_odoo)
    addons = sub.add_parser("addons-path")
    addons.add_argument("--target", action="append", default=[])
    addons.add_argument("extra", nargs="*")
    addons.set_defaults(func=cmd_addons_path)
    sub.add_parser("check-pg").set_defaults(func=cmd_check_pg)
    state = sub.add_parser("module-state")
    state.add_argument("db")
    state.add_argument("module")
    state.add_argument("--with-demo", action="store_true")
    state.set_defaults(func=cmd_module_state)
    missing = sub.add_parser("missing-requirements")
    missing.add_argument("file")
    missing.add_argument("--target", required=True)
    missing.set_defaults(func=cmd_missing_requirements)
    sub.add_parser("free-port").set_defaults(func=cmd_free_port)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
