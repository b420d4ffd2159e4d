"""portal_account benchmark: portal pages and renewal engine, one table.

Usage:
    python3 bench/run.py [--volumes 10,1000,10000] [--subscriptions 1000,10000]
                         [--invoice-volumes 10,1000] [--quick] [--repeat 15]
                         [--keep-db] [--db NAME --reuse-db]

1. builds a throwaway database (portal_account + payment_demo, no demo data) and
   fills it (populate.py), and a second one with Odoo alone (account_payment +
   portal) holding the same invoice-only customers;
2. serves it with a real Odoo HTTP server (``--workers=0``, no cron thread, on
   a free loopback port), logs in as each volume's portal customer, warms then
   measures each page ``--repeat`` times: median latency seen by the client and
   SQL queries per request, read from the server's werkzeug log line (Odoo 18
   ends it with ``<queries> <sql seconds> <other seconds>``);
3. measures ``/my/invoices`` of the invoice-only customers on both databases,
   at the first visit (the invoices have no access token yet) and again;
4. runs the renewal engine (engine.py) in fresh processes: grace transitions,
   billing and charging, and the bare ORM create+post of the same invoices;
5. prints one table and writes it to bench/results.md.

Each database is dropped at the end unless ``--keep-db``.
"""

import argparse
import functools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime

import requests
from common import (
    BENCH_DIR,
    WORK_DIR,
    addons_path,
    free_port,
    median,
    read_json,
)

QUICK = {"volumes": "10,100,1000", "subscriptions": "100,1000"}
FULL = {"volumes": "10,1000,10000", "subscriptions": "1000,10000"}
INVOICE_VOLUMES = "10,1000"
# Odoo alone, for /my/invoices beside the addon: what the addon extends.
CORE_MODULES = "account_payment,portal"
INVOICES_ROWS = 80  # core's _items_per_page
WARMUP = 3
PROFILE_SET = 100
HOME_RATIO_TARGET = 1.2
# Billing and charging at most this many times core's own way of paying the
# same invoices (create + post + Register Payment); grace transitions with
# their emails at most this many times the plain-core way on the same records.
BILLING_RATIO_TARGET = 1.0
GRACE_CORE_RATIO_TARGET = 0.5
LINEAR_SLACK = 1.2
LOG_LINE = re.compile(
    r'"(?P<method>GET|POST) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ '
    r"(?P<queries>\d+) (?P<sql>[\d.]+) (?P<other>[\d.]+)"
)
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
PLACEHOLDER = re.compile(r'data-placeholder_count="([^"]+)"')
INVOICE_LINK = re.compile(r'href="/my/invoices/(\d+)\?access_token=')


def log(message):
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def odoo_command():
    """``odoo`` when on PATH, else Odoo's own launcher through this Python."""
    if shutil.which("odoo"):
        return ["odoo"]
    return [sys.executable, "-m", "odoo"]


def run(command, **kwargs):
    log(" ".join(command))
    subprocess.run(command, check=True, **kwargs)


# ----------------------------------------------------------------------
# Database
# ----------------------------------------------------------------------


def drop_db(db):
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    filestore = os.path.expanduser(f"~/.local/share/Odoo/filestore/{db}")
    shutil.rmtree(filestore, ignore_errors=True)


def install_db(db, modules, logfile):
    drop_db(db)
    run(
        [
            *odoo_command(),
            "-d",
            db,
            f"--addons-path={addons_path()}",
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            f"--logfile={WORK_DIR / logfile}",
        ]
    )


def build_db(db, args):
    install_db(db, "portal_account,payment_demo", "install.log")
    run(
        [
            sys.executable,
            str(BENCH_DIR / "populate.py"),
            "--db",
            db,
            "--volumes",
            args.volumes,
            "--subscriptions",
            args.subscriptions,
            "--invoice-volumes",
            args.invoice_volumes,
            "--out",
            str(WORK_DIR / "manifest.json"),
            "--profile-set",
            str(PROFILE_SET if args.profile else 0),
            "--card-max",
            str(args.card_max or 0),
        ]
    )


def build_core_db(db, args):
    """Odoo alone, with the same invoice-only customers as the addon's database."""
    install_db(db, CORE_MODULES, "install-core.log")
    run(
        [
            sys.executable,
            str(BENCH_DIR / "populate.py"),
            "--db",
            db,
            "--volumes",
            "",
            "--subscriptions",
            "",
            "--invoice-volumes",
            args.invoice_volumes,
            "--out",
            str(WORK_DIR / "manifest-core.json"),
        ]
    )


# ----------------------------------------------------------------------
# Portal pages
# ----------------------------------------------------------------------


class Server:
    """``odoo`` serving ``db`` on a free loopback port, logging to a file."""

    def __init__(self, db):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logfile = WORK_DIR / "server.log"
        self.process = None
        self.offset = 0

    def __enter__(self):
        self.logfile.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                *odoo_command(),
                "-d",
                self.db,
                f"--db-filter=^{self.db}$",
                f"--addons-path={addons_path()}",
                "--http-interface=127.0.0.1",
                f"--http-port={self.port}",
                "--workers=0",
                "--max-cron-threads=0",
                f"--logfile={self.logfile}",
                "--log-level=info",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        self.offset = self.logfile.stat().st_size
        return self

    def _wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Odoo server stopped, see {self.logfile}")
            try:
                # The first request loads the registry: give it time.
                requests.get(f"{self.url}/web/health", timeout=60)
                return
            except requests.ConnectionError:
                time.sleep(0.5)
        raise RuntimeError(f"the Odoo server did not answer in {timeout} s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def last_request(self, method, path):
        """Queries and server seconds of the last logged request ``method path``."""
        for _attempt in range(50):
            with open(self.logfile, encoding="utf-8", errors="replace") as handle:
                handle.seek(self.offset)
                text = handle.read()
            found = None
            for match in LOG_LINE.finditer(text):
                if match["method"] == method and match["path"] == path:
                    found = match
            if found:
                self.offset += len(text[: found.end()].encode())
                return int(found["queries"]), float(found["sql"]) + float(
                    found["other"]
                )
            time.sleep(0.02)
        raise RuntimeError(f"no log line for {method} {path} in {self.logfile}")


def login(server, login_name, password):
    session = requests.Session()
    page = session.get(f"{server.url}/web/login", timeout=60)
    token = CSRF.search(page.text)
    if not token:
        raise RuntimeError("no csrf_token on /web/login")
    response = session.post(
        f"{server.url}/web/login",
        data={
            "login": login_name,
            "password": password,
            "csrf_token": token[1],
            "redirect": "",
        },
        allow_redirects=False,
        timeout=60,
    )
    if response.status_code not in (302, 303) or "/web/login" in response.headers.get(
        "Location", ""
    ):
        raise RuntimeError(f"login of {login_name} failed ({response.status_code})")
    return session


def portal_pages(customer):
    subscription = f"/my/subscriptions/{customer['subscription_id']}"
    return [
        ("GET", "/my"),
        ("POST", "/my/counters"),
        ("GET", "/my/subscriptions"),
        ("GET", subscription),
        ("GET", f"{subscription}/payment_method"),
        ("GET", "/my/success_packs"),
        ("GET", "/my/invoices"),
        ("GET", "/my/orders"),
        ("GET", "/my/quotes"),
        ("GET", "/my/tickets"),
        ("GET", "/my/payment_method"),
    ]


def page_label(path, customer):
    return path.replace(str(customer["subscription_id"]), "<id>")


def fetch(server, session, method, path, counters):
    url = f"{server.url}{path}"
    start = time.perf_counter()
    if method == "POST":
        response = session.post(
            url,
            json={"jsonrpc": "2.0", "method": "call", "params": {"counters": counters}},
            timeout=120,
        )
    else:
        response = session.get(url, allow_redirects=False, timeout=120)
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or (method == "POST" and "error" in response.json()):
        raise RuntimeError(
            f"{method} {path}: {response.status_code} {response.text[:300]}"
        )
    return response, elapsed


def measure(server, session, method, path, counters, repeat, before=None):
    """Median latency, server time and queries of ``repeat`` requests, warmed up.

    ``before`` is called before each request, warm-up included, outside the
    measure.
    """
    for _index in range(WARMUP):
        if before:
            before()
        fetch(server, session, method, path, counters)
        server.last_request(method, path)
    latencies, queries, server_times = [], [], []
    for _index in range(repeat):
        if before:
            before()
        response, elapsed = fetch(server, session, method, path, counters)
        count, server_time = server.last_request(method, path)
        latencies.append(elapsed)
        queries.append(count)
        server_times.append(server_time)
    return response, {
        "median_ms": round(median(latencies) * 1000, 1),
        "server_ms": round(median(server_times) * 1000, 1),
        "queries": statistics.mode(queries),
        "queries_seen": sorted(set(queries)),
    }


def measure_pages(db, manifest, repeat):
    results = {}
    with Server(db) as server:
        for volume, customer in manifest["customers"].items():
            session = login(server, customer["login"], customer["password"])
            home = session.get(f"{server.url}/my", timeout=60).text
            counters = sorted(set(PLACEHOLDER.findall(home)))
            per_page = {}
            for method, path in portal_pages(customer):
                _response, row = measure(
                    server, session, method, path, counters, repeat
                )
                per_page[page_label(path, customer)] = row
            results[volume] = per_page
            log(f"pages at volume {volume}: done")
    return results


def remove_access_tokens(db, partner_id):
    """The customer's invoices as posting leaves them: without an access token."""
    import psycopg2

    connection = psycopg2.connect(dbname=db)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "UPDATE account_move SET access_token = NULL WHERE partner_id = %s",
                (partner_id,),
            )
    finally:
        connection.close()


def measure_invoices(databases, repeat):
    """/my/invoices of the invoice-only customers, first visit and revisit.

    ``databases`` maps a label to a database and its manifest.
    """
    results = {}
    for label, (db, manifest) in databases.items():
        results[label] = {}
        with Server(db) as server:
            for volume, customer in manifest["invoice_customers"].items():
                session = login(server, customer["login"], customer["password"])
                rows = {}
                first_visit = functools.partial(
                    remove_access_tokens, db, customer["partner_id"]
                )
                for visit, before in (("first", first_visit), ("again", None)):
                    response, row = measure(
                        server, session, "GET", "/my/invoices", [], repeat, before
                    )
                    listed = len(set(INVOICE_LINK.findall(response.text)))
                    if listed != min(int(volume), INVOICES_ROWS):
                        raise RuntimeError(
                            f"/my/invoices of {customer['login']} on {db} lists "
                            f"{listed} invoices"
                        )
                    rows[visit] = row
                results[label][volume] = rows
                log(f"/my/invoices with {label} at {volume} invoices: done")
    return results


# ----------------------------------------------------------------------
# Renewal engine
# ----------------------------------------------------------------------


def engine_command(db, level, kind, mode, out):
    return [
        sys.executable,
        str(BENCH_DIR / "engine.py"),
        "--db",
        db,
        "--level",
        str(level),
        "--kind",
        kind,
        "--mode",
        mode,
        "--logfile",
        str(WORK_DIR / "engine.log"),
        "--out",
        str(out),
    ]


def measure_engine(db, levels):
    results = {}
    for level in levels:
        for kind, mode in (
            ("grace", "core-grace"),
            ("grace", "engine"),
            ("card", "baseline"),
            ("card", "paid-baseline"),
            ("card", "engine"),
        ):
            out = WORK_DIR / f"engine-{level}-{kind}-{mode}.json"
            run(engine_command(db, level, kind, mode, out))
            results[f"{level}-{kind}-{mode}"] = read_json(out)
    return results


def profile_engine(db):
    """cProfile runs on their own set, so that the measured runs stay unprofiled."""
    for kind in ("grace", "card"):
        out = WORK_DIR / f"engine-profile-{kind}.json"
        prof = WORK_DIR / f"engine-{kind}.prof"
        run(
            engine_command(db, "profile", kind, "engine", out)
            + ["--profile", str(prof)]
        )
        log(f"profile of the {kind} path: {prof}.txt")


# ----------------------------------------------------------------------
# Table
# ----------------------------------------------------------------------


def fmt_int(value):
    return f"{int(value):,}"


def fmt_queries(row):
    """The usual count, and the others seen when a request now and then differs."""
    others = [count for count in row["queries_seen"] if count != row["queries"]]
    if not others:
        return f"{row['queries']} q"
    return f"{row['queries']} q (also {', '.join(map(str, others))})"


def met(condition):
    return "met" if condition else "**not met**"


def pages_table(pages, volumes):
    first, last = str(volumes[0]), str(volumes[-1])
    header = [f"N={fmt_int(v)}: median, queries (x /my/invoices)" for v in volumes]
    lines = [
        "| page | " + " | ".join(header) + f" | queries same {first}->{last} |",
        "|---|" + "---|" * (len(volumes) + 1),
    ]
    labels = list(pages[first])
    for label in labels:
        cells = []
        for volume in map(str, volumes):
            row = pages[volume][label]
            ratio = row["median_ms"] / pages[volume]["/my/invoices"]["median_ms"]
            cells.append(
                f"{row['median_ms']:.0f} ms, {fmt_queries(row)} ({ratio:.2f}x)"
            )
        same = pages[first][label]["queries"] == pages[last][label]["queries"]
        lines.append(f"| `{label}` | " + " | ".join(cells) + f" | {met(same)} |")
    return lines


INVOICE_COLUMNS = (
    ("core", "first", "Odoo alone, first visit"),
    ("addon", "first", "portal_account, first visit"),
    ("core", "again", "Odoo alone, again"),
    ("addon", "again", "portal_account, again"),
)


def invoices_table(invoices, invoice_volumes):
    first, last = str(invoice_volumes[0]), str(invoice_volumes[-1])
    lines = [
        "| `/my/invoices`, one customer's unpaid invoices | "
        + " | ".join(title for _db, _visit, title in INVOICE_COLUMNS)
        + " |",
        "|---|" + "---|" * len(INVOICE_COLUMNS),
    ]
    for volume in map(str, invoice_volumes):
        cells = []
        for db, visit, _title in INVOICE_COLUMNS:
            row = invoices[db][volume][visit]
            cells.append(f"{row['median_ms']:.0f} ms, {fmt_queries(row)}")
        lines.append(f"| {fmt_int(volume)} invoices | " + " | ".join(cells) + " |")
    cells = []
    for db, visit, _title in INVOICE_COLUMNS:
        same = (
            invoices[db][first][visit]["queries"]
            == invoices[db][last][visit]["queries"]
        )
        cells.append(met(same))
    lines.append(f"| queries same {first}->{last} | " + " | ".join(cells) + " |")
    return lines


def engine_rows(engine, levels):
    def get(level, kind, mode):
        return engine[f"{level}-{kind}-{mode}"]

    lines = [
        "| renewal engine | "
        + " | ".join(f"{fmt_int(level)} subscriptions" for level in levels)
        + " |",
        "|---|" + "---|" * len(levels),
    ]
    rows = [
        ("grace transitions (no card), their notices emailed", "grace", "engine"),
        (
            "same grace transitions the plain-core way (tracked write + "
            "send_mail per record)",
            "grace",
            "core-grace",
        ),
        ("billing + charging (card), their receipts emailed", "card", "engine"),
        ("bare ORM create + post, same invoices", "card", "baseline"),
        (
            "same invoices, then paid with core's Register Payment",
            "card",
            "paid-baseline",
        ),
    ]
    for title, kind, mode in rows:
        cells = []
        for level in levels:
            result = get(level, kind, mode)
            cell = (
                f"{fmt_int(result['count'])} in {result['seconds']:.1f} s = "
                f"**{result['per_second']:.0f}/s**"
            )
            if "email_seconds" in result:
                cell += f" (emailing: {result['email_seconds']:.1f} s)"
            cells.append(cell)
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    cells = []
    for level in levels:
        ratio = (
            get(level, "grace", "engine")["seconds"]
            / get(level, "grace", "core-grace")["seconds"]
        )
        cells.append(f"{ratio:.2f}x")
    title = "grace transitions / the plain-core way"
    lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for title, mode in (
        ("billing + charging / bare create + post", "baseline"),
        ("billing + charging / invoices paid with Register Payment", "paid-baseline"),
    ):
        cells = []
        for level in levels:
            ratio = (
                get(level, "card", "engine")["seconds"]
                / get(level, "card", mode)["seconds"]
            )
            cells.append(f"{ratio:.2f}x")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    cells = []
    for level in levels:
        grace, card = get(level, "grace", "engine"), get(level, "card", "engine")
        peak = max(grace["peak_rss_mb"], card["peak_rss_mb"])
        cells.append(
            f"grace +{grace['rss_growth_mb']:.0f} MB, "
            f"card +{card['rss_growth_mb']:.0f} MB (process peak {peak:.0f} MB)"
        )
    lines.append("| peak memory growth of the run | " + " | ".join(cells) + " |")
    cells = []
    for level in levels:
        grace, card = get(level, "grace", "engine"), get(level, "card", "engine")
        checks = grace["check"], card["check"]
        cells.append(
            f"to renew {checks[0]['ok']}/{grace['count']}, mails {checks[0]['mails']}; "
            f"paid {checks[1]['paid']}/{card['count']}"
        )
    lines.append("| outcome checked | " + " | ".join(cells) + " |")
    return lines


def targets(pages, invoices, engine, volumes, invoice_volumes, levels):
    lines = []
    if pages:
        first, last = str(volumes[0]), str(volumes[-1])
        moving = [
            label
            for label in pages[first]
            if pages[first][label]["queries"] != pages[last][label]["queries"]
        ]
        lines.append(
            f"- every /my page: same query count at {first} and {last} documents: "
            f"{met(not moving)}"
            + (
                f" (differs: {', '.join(f'`{label}`' for label in moving)})"
                if moving
                else ""
            )
        )
        for label in ("/my", "/my/subscriptions"):
            ratios = {
                volume: pages[volume][label]["median_ms"]
                / pages[volume]["/my/invoices"]["median_ms"]
                for volume in map(str, volumes)
            }
            worst = max(ratios.values())
            lines.append(
                f"- `{label}` <= {HOME_RATIO_TARGET}x Odoo's `/my/invoices` at equal "
                f"volume: {met(worst <= HOME_RATIO_TARGET)} (worst {worst:.2f}x)"
            )
    if invoices:
        first, last = str(invoice_volumes[0]), str(invoice_volumes[-1])

        def counts(db, visit):
            return [invoices[db][volume][visit]["queries"] for volume in (first, last)]

        addon = [counts("addon", visit) for visit in ("first", "again")]
        core = counts("core", "first")
        lines.append(
            f"- `/my/invoices` with portal_account, first visit and again: same "
            f"query count at {first} and {last} invoices: "
            f"{met(all(small == big for small, big in addon))} "
            f"(first visit {addon[0][0]} -> {addon[0][1]} queries; Odoo alone "
            f"{core[0]} -> {core[1]})"
        )
    if engine:
        small, big = levels[0], levels[-1]
        grace_ratios = [
            engine[f"{level}-grace-engine"]["seconds"]
            / engine[f"{level}-grace-core-grace"]["seconds"]
            for level in levels
        ]
        lines.append(
            f"- grace transitions, their notices emailed, within "
            f"{GRACE_CORE_RATIO_TARGET}x of the plain-core way on the same records: "
            f"{met(max(grace_ratios) <= GRACE_CORE_RATIO_TARGET)} "
            f"({max(grace_ratios):.2f}x)"
        )
        ratios = [
            engine[f"{level}-card-engine"]["seconds"]
            / engine[f"{level}-card-paid-baseline"]["seconds"]
            for level in levels
        ]
        bare = max(
            engine[f"{level}-card-engine"]["seconds"]
            / engine[f"{level}-card-baseline"]["seconds"]
            for level in levels
        )
        lines.append(
            f"- billing + charging within {BILLING_RATIO_TARGET}x of core's own way "
            f"of paying the same invoices (create + post + Register Payment): "
            f"{met(max(ratios) <= BILLING_RATIO_TARGET)} ({max(ratios):.2f}x; "
            f"{bare:.2f}x of the bare create + post)"
        )
        if big != small:
            growth = {}
            for kind in ("grace", "card"):
                small_run = engine[f"{small}-{kind}-engine"]
                big_run = engine[f"{big}-{kind}-engine"]
                growth[kind] = (
                    big_run["count"] / small_run["count"],
                    big_run["seconds"] / small_run["seconds"],
                )
            all_ok = all(
                time <= count * LINEAR_SLACK for count, time in growth.values()
            )
            lines.append(
                f"- time linear in volume ({fmt_int(small)} -> {fmt_int(big)} "
                f"subscriptions; time may grow up to {LINEAR_SLACK}x the volume): "
                f"{met(all_ok)} ("
                + ", ".join(
                    f"{kind}: x{count:.0f} subscriptions, x{grown:.1f} time"
                    for kind, (count, grown) in growth.items()
                )
                + ")"
            )
    return lines


def render(pages, invoices, engine, volumes, invoice_volumes, levels, args, elapsed):
    cores = os.cpu_count()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    setup = (
        f"one server (`--workers=0`), warm, median of {args.repeat} requests; "
        if pages or invoices
        else ""
    )
    lines = [
        f"Finished {datetime.now():%Y-%m-%d %H:%M}, {cores} cores, "
        f"{memory_gb:.0f} GB, Python {platform.python_version()}, Odoo 18.0 CE, "
        f"{setup}whole run {elapsed / 60:.0f} min.",
        "",
    ]
    if pages:
        lines += pages_table(pages, volumes)
        lines.append("")
    if invoices:
        lines += invoices_table(invoices, invoice_volumes)
        lines.append("")
        lines.append(
            "First visit: the invoices have no access token yet, as posting leaves "
            "them (the list's links make them); again: the same page once more."
        )
        lines.append("")
    if engine:
        lines += engine_rows(engine, levels)
        if args.card_max:
            lines.append("")
            lines.append(
                f"Billing + charging measured on at most {fmt_int(args.card_max)} "
                "card subscriptions per level (`--card-max`); grace transitions on "
                "the full half of each level."
            )
        lines.append("")
    lines.append("Targets:")
    lines += targets(pages, invoices, engine, volumes, invoice_volumes, levels)
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--volumes", help=f"documents per customer ({FULL['volumes']})")
    parser.add_argument(
        "--subscriptions", help=f"engine levels ({FULL['subscriptions']})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"volumes {QUICK['volumes']}, levels {QUICK['subscriptions']}",
    )
    parser.add_argument(
        "--card-max",
        type=int,
        help="bill and charge at most this many card subscriptions per level "
        "(the slow path), instead of half of the level",
    )
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", help="database name (default bench_portal_account)")
    parser.add_argument(
        "--reuse-db", action="store_true", help="do not build: reuse --db as is"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--invoice-volumes",
        default=INVOICE_VOLUMES,
        help="/my/invoices beside Odoo alone: unpaid invoices per customer "
        f"({INVOICE_VOLUMES})",
    )
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-invoices", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also cProfile the engine on a set of {PROFILE_SET} subscriptions",
    )
    parser.add_argument("--output", default=str(BENCH_DIR / "results.md"))
    args = parser.parse_args()
    defaults = QUICK if args.quick else FULL
    args.volumes = args.volumes or defaults["volumes"]
    args.subscriptions = args.subscriptions or defaults["subscriptions"]
    # Build only what is measured.
    if args.skip_pages:
        args.volumes = ""
    if args.skip_engine:
        args.subscriptions = ""
    if args.skip_invoices:
        args.invoice_volumes = ""
    volumes = [int(value) for value in args.volumes.split(",") if value]
    levels = [int(value) for value in args.subscriptions.split(",") if value]
    invoice_volumes = [int(value) for value in args.invoice_volumes.split(",") if value]
    db = args.db or "bench_portal_account"
    if not db.startswith("bench_"):
        sys.exit("the database name must start with bench_")
    core_db = f"{db}_core"

    WORK_DIR.mkdir(exist_ok=True)
    started = time.monotonic()
    if not args.reuse_db:
        build_db(db, args)
        if invoice_volumes:
            build_core_db(core_db, args)
    manifest = read_json(WORK_DIR / "manifest.json")
    manifest["customers"] = {
        key: value
        for key, value in manifest["customers"].items()
        if int(key) in volumes
    }
    try:
        pages = {} if args.skip_pages else measure_pages(db, manifest, args.repeat)
        invoices = {}
        if invoice_volumes:
            databases = {
                "core": (core_db, read_json(WORK_DIR / "manifest-core.json")),
                "addon": (db, manifest),
            }
            for _db, db_manifest in databases.values():
                db_manifest["invoice_customers"] = {
                    key: value
                    for key, value in db_manifest["invoice_customers"].items()
                    if int(key) in invoice_volumes
                }
            invoices = measure_invoices(databases, args.repeat)
        engine = {} if args.skip_engine else measure_engine(db, levels)
        if args.profile and not args.skip_engine:
            profile_engine(db)
    finally:
        if not args.keep_db:
            drop_db(db)
            drop_db(core_db)
    table = render(
        pages,
        invoices,
        engine,
        volumes,
        invoice_volumes,
        levels,
        args,
        time.monotonic() - started,
    )
    command = "python3 bench/run.py " + " ".join(sys.argv[1:])
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(f"# portal_account benchmark\n\n`{command.strip()}`\n\n{table}")
    with open(WORK_DIR / "results.json", "w", encoding="utf-8") as handle:
        json.dump(
            {"pages": pages, "invoices": invoices, "engine": engine}, handle, indent=2
        )
    print(table)


if __name__ == "__main__":
    main()
