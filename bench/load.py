"""Load test of the customer portal: many customers browsing /my at once.

Usage: python3 bench/load.py [--db NAME] [--customers 20] [--duration 60]
       [--workers 2] [--keep-db] [--out bench/.work/load.json]

1. Without ``--db`` a throwaway database is created (portal_account and
   payment_demo, no demo data) and dropped at the end; with ``--db`` that
   database is used and kept (its customers are created once, then reused).
2. ``--customers`` portal customers are created with their data: three
   subscriptions (two running on a card, one to renew), ten posted invoices,
   two quotations, a ticket and a Success Pack each.
3. Odoo is started on 127.0.0.1 with ``--workers`` HTTP workers and no cron.
4. From this process (one thread and one ``requests.Session`` per customer,
   logged in through /web/login), every customer opens /my, /my/subscriptions,
   /my/invoices and one of their subscriptions, over and over, for
   ``--duration`` seconds; then everything stops by itself.
5. Printed: requests, errors (status >= 500 or no answer), other unexpected
   statuses, p50 / p95 / p99 latency overall and per page, and the ERROR lines
   of the server log.
"""

import argparse
import contextlib
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

import requests
from common import WORK_DIR, addons_path, free_port

LOGIN = "load_portal_{index}"
PASSWORD = "load-{index}-pw"  # noqa: S105 (throwaway data)
PAGES = ("/my", "/my/subscriptions", "/my/invoices", "subscription")
CSRF_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def log(message):
    print(f"[load] {message}", file=sys.stderr, flush=True)


def odoo_command(db, *args, launcher=None):
    """The command running Odoo on ``db``; ``launcher``: Python code to run it."""
    if launcher:
        base = [sys.executable, "-c", launcher, "server"]
    else:
        odoo_bin = shutil.which("odoo")
        base = [odoo_bin] if odoo_bin else [sys.executable, "-m", "odoo"]
    return [*base, "-d", db, f"--addons-path={addons_path()}", *args]


# ----------------------------------------------------------------------
# Database and data
# ----------------------------------------------------------------------


def create_database(db):
    log(f"creating the throwaway database {db} (about a minute)")
    subprocess.run(
        odoo_command(
            db,
            "-i",
            "portal_account,payment_demo",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
    )


def drop_database(db):
    log(f"dropping {db}")
    subprocess.run(["dropdb", "--if-exists", db], check=False)


def populate(db, customers):
    """Create the portal customers and their data; return what the clients need.

    Runs in a child process so that this one keeps no Odoo state or connection.
    """
    result = subprocess.run(
        [sys.executable, __file__, "_populate", db, str(customers)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(result.stdout)


def _populate(db, customers):
    import odoo
    from odoo import api, fields
    from odoo.tools import config

    config.parse_config(
        ["-d", db, f"--addons-path={addons_path()}", "--log-level=warn"]
    )
    registry = odoo.modules.registry.Registry(db)
    context = {
        "tracking_disable": True,
        "mail_create_nolog": True,
        "mail_notrack": True,
        "no_reset_password": True,
    }
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, context)
        today = fields.Date.context_today(env.user)
        provider = env.ref("payment.payment_provider_demo")
        if provider.state not in ("enabled", "test"):
            provider.state = "test"
        plan = env["subscription.plan"].search([("name", "=", "Load Monthly")], limit=1)
        plan = plan or env["subscription.plan"].create(
            {
                "name": "Load Monthly",
                "billing_period_value": 1,
                "billing_period_unit": "month",
            }
        )
        product = env["product.product"].search([("name", "=", "Load App")], limit=1)
        product = product or env["product.product"].create(
            {"name": "Load App", "type": "service", "list_price": 100.0}
        )
        users = []
        for index in range(customers):
            login = LOGIN.format(index=index)
            user = env["res.users"].search([("login", "=", login)])
            if not user:
                user = _create_customer(env, index, plan, product, provider, today)
            subscription = env["sale.order"].search(
                [
                    ("partner_id", "=", user.partner_id.id),
                    ("is_subscription", "=", True),
                    ("subscription_state", "=", "in_progress"),
                ],
                limit=1,
            )
            users.append(
                {
                    "login": login,
                    "password": PASSWORD.format(index=index),
                    "subscription_id": subscription.id,
                }
            )
    json.dump({"users": users}, sys.stdout)


def _create_customer(env, index, plan, product, provider, today):
    from datetime import timedelta

    from odoo import Command

    company = env["res.partner"].create(
        {
            "name": f"Load Customer {index}",
            "is_company": True,
            "email": f"c{index}@load.test",
        }
    )
    contact = env["res.partner"].create(
        {
            "name": f"Load Contact {index}",
            "parent_id": company.id,
            "email": f"p{index}@load.test",
        }
    )
    user = env["res.users"].create(
        {
            "name": contact.name,
            "login": LOGIN.format(index=index),
            "password": PASSWORD.format(index=index),
            "partner_id": contact.id,
            "groups_id": [Command.set([env.ref("base.group_portal").id])],
        }
    )
    token = env["payment.token"].create(
        {
            "provider_id": provider.id,
            "payment_method_id": provider.payment_method_ids[:1].id,
            "payment_details": f"{1000 + index}",
            "partner_id": company.id,
            "provider_ref": f"load-{index}",
            "demo_simulated_state": "done",
        }
    )
    lines = [Command.create({"product_id": product.id, "product_uom_qty": 2})]
    subscriptions = env["sale.order"].create(
        [
            {
                "partner_id": contact.id,
                "subscription_plan_id": plan.id,
                "subscription_start_date": today - timedelta(days=40),
                "order_line": lines,
            }
            for _index in range(3)
        ]
    )
    subscriptions.action_confirm()
    subscriptions[:2].write(
        {"payment_token_id": token.id, "next_invoice_date": today + timedelta(days=20)}
    )
    # Far checked date: the renewal engine leaves it alone.
    subscriptions[2].write(
        {
            "subscription_state": "to_renew",
            "next_invoice_date": today - timedelta(days=2),
            "renewal_deadline": today + timedelta(days=5),
            "subscription_checked_date": today + timedelta(days=3650),
        }
    )
    quotes = env["sale.order"].create(
        [{"partner_id": contact.id, "order_line": lines} for _index in range(2)]
    )
    quotes.action_quotation_sent()
    invoices = (
        env["account.move"]
        .with_context(default_move_type="out_invoice")
        .create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": contact.id,
                    "invoice_date": today - timedelta(days=30 * number),
                    "subscription_id": subscriptions[number % 2].id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "quantity": 1,
                                "price_unit": 100 + number,
                            }
                        )
                    ],
                }
                for number in range(10)
            ]
        )
    )
    invoices.action_post()
    env["helpdesk.ticket"].create(
        {
            "name": f"Load question {index}",
            "description": "Help",
            "partner_id": contact.id,
        }
    )
    env["success.pack"].create(
        {"name": f"Load Pack {index}", "partner_id": company.id, "hours_purchased": 10}
    )
    return user


# ----------------------------------------------------------------------
# Server
# ----------------------------------------------------------------------


# Odoo's server without its gevent (websocket) process, for when gevent cannot
# start here: it would be respawned every second and eat the CPU being measured.
# The pages measured do not use the websocket.
NO_GEVENT_LAUNCHER = (
    "import sys, odoo.service.server as server; "
    "server.PreforkServer.long_polling_spawn = lambda self: None; "
    "import odoo.cli; sys.exit(odoo.cli.main())"
)


def gevent_works():
    check = "import gevent.monkey; gevent.monkey.patch_all()"
    return (
        subprocess.run([sys.executable, "-c", check], capture_output=True).returncode
        == 0
    )


@contextlib.contextmanager
def odoo_server(db, workers, logfile):
    port = free_port()
    launcher = None
    if not gevent_works():
        log("gevent cannot start here: the websocket process is left out")
        launcher = NO_GEVENT_LAUNCHER
    command = odoo_command(
        db,
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        f"--workers={workers}",
        "--max-cron-threads=0",
        f"--db-filter=^{re.escape(db)}$",
        "--log-level=warn",
        f"--logfile={logfile}",
        launcher=launcher,
    )
    log(f"starting Odoo with {workers} workers on 127.0.0.1:{port}")
    process = subprocess.Popen(command, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base_url}/web/login", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Odoo did not start, see {logfile}")
            time.sleep(1)
        yield base_url
    finally:
        log("stopping Odoo")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ----------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------


def login(base_url, user):
    session = requests.Session()
    page = session.get(f"{base_url}/web/login", timeout=30)
    csrf = CSRF_RE.search(page.text).group(1)
    response = session.post(
        f"{base_url}/web/login",
        data={"login": user["login"], "password": user["password"], "csrf_token": csrf},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login of {user['login']} failed: {response.status_code}")
    return session


def page_url(base_url, page, user):
    if page == "subscription":
        return f"{base_url}/my/subscriptions/{user['subscription_id']}"
    return f"{base_url}{page}"


def browse(base_url, session, user, stop_at, results):
    """Open the pages in turn until ``stop_at``; record (page, status, seconds)."""
    while time.monotonic() < stop_at:
        for page in PAGES:
            if time.monotonic() >= stop_at:
                return
            start = time.perf_counter()
            try:
                response = session.get(
                    page_url(base_url, page, user), allow_redirects=False, timeout=60
                )
                status = response.status_code
            except requests.RequestException:
                status = None
            results.append((page, status, time.perf_counter() - start))


def percentiles(values):
    if len(values) < 2:
        return {"p50": None, "p95": None, "p99": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49] * 1000),
        "p95": round(cuts[94] * 1000),
        "p99": round(cuts[98] * 1000),
    }


def run_load(base_url, users, duration):
    sessions = [login(base_url, user) for user in users]
    # Warm up: every page once per customer (caches of both workers), unmeasured.
    for session, user in zip(sessions, users, strict=True):
        for page in PAGES:
            session.get(page_url(base_url, page, user), timeout=60)
    log(f"{len(users)} customers browsing for {duration} s")
    results = []
    stop_at = time.monotonic() + duration
    threads = [
        threading.Thread(
            target=browse, args=(base_url, session, user, stop_at, results)
        )
        for session, user in zip(sessions, users, strict=True)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 120)
    elapsed = time.monotonic() - started
    return results, elapsed


def report(results, elapsed, logfile, args):
    errors = sum(1 for _page, status, _s in results if status is None or status >= 500)
    unexpected = sum(
        1
        for _page, status, _s in results
        if status is not None and status not in (200,) and status < 500
    )
    log_errors = []
    if os.path.exists(logfile):
        with open(logfile, encoding="utf-8", errors="replace") as handle:
            log_errors = [line.strip() for line in handle if " ERROR " in line]
    summary = {
        "customers": args.customers,
        "workers": args.workers,
        "duration_s": round(elapsed, 1),
        "requests": len(results),
        "requests_per_s": round(len(results) / elapsed, 1) if elapsed else 0,
        "errors": errors,
        "unexpected_status": unexpected,
        "server_log_errors": len(log_errors),
        "latency_ms": percentiles([seconds for _page, _status, seconds in results]),
        "pages": {
            page: {
                "requests": sum(1 for p, _status, _s in results if p == page),
                **percentiles([s for p, _status, s in results if p == page]),
            }
            for page in PAGES
        },
    }
    print(json.dumps(summary, indent=2))
    for line in log_errors[:5]:
        log(f"server ERROR: {line}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="use (and keep) this database")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--out", help="write the figures as JSON here too")
    args = parser.parse_args()

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    db = args.db or f"portal_account_load_{os.getpid()}"
    logfile = str(WORK_DIR / f"load-{db}.log")
    with contextlib.suppress(FileNotFoundError):
        os.remove(logfile)
    throwaway = not args.db
    summary = None
    try:
        if throwaway:
            create_database(db)
        started = time.monotonic()
        users = populate(db, args.customers)["users"]
        log(f"{len(users)} customers ready ({time.monotonic() - started:.0f} s)")
        with odoo_server(db, args.workers, logfile) as base_url:
            results, elapsed = run_load(base_url, users, args.duration)
        summary = report(results, elapsed, logfile, args)
        if args.out:
            pathlib.Path(args.out).write_text(json.dumps(summary, indent=2))
    finally:
        if throwaway and not args.keep_db:
            drop_database(db)
    return 1 if summary["errors"] or summary["server_log_errors"] else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_populate":
        _populate(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
