"""Profile portal pages in-process (cProfile) and list their SQL queries.

Usage: python3 bench/profile_pages.py --db bench_x --volume 1000
       [--path /my/invoices ...] [--repeat 5] [--sql] [--top 30]

Needs a database kept by ``run.py --keep-db`` (its manifest in bench/.work/).
Requests go through Odoo's own WSGI application (``odoo.http.root``) in this
process, as the HTTP server would run them, so cProfile sees the whole request.
"""

import argparse
import cProfile
import io
import logging
import pstats
import re
import sys

from common import WORK_DIR, odoo_env, read_json

CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
PLACEHOLDER = re.compile(r'data-placeholder_count="([^"]+)"')
ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}


class QueryCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries = []

    def emit(self, record):
        message = record.getMessage()
        if "] query: " in message:
            delay, query = message.split(" query: ", 1)
            self.queries.append(f"{delay} {' '.join(query.split())[:400]}")


def client_for(db, customer):
    from werkzeug.test import Client

    import odoo.http
    import odoo.service.server

    odoo.service.server.load_server_wide_modules()
    client = Client(odoo.http.root)
    page = client.get("/web/login", environ_base=ENVIRON).get_data(as_text=True)
    response = client.post(
        "/web/login",
        data={
            "login": customer["login"],
            "password": customer["password"],
            "csrf_token": CSRF.search(page)[1],
        },
        environ_base=ENVIRON,
    )
    if response.status_code not in (302, 303):
        sys.exit(f"login failed: {response.status_code}")
    return client


def request_for(client, path):
    """A callable sending the request ``path`` stands for (``/my/counters``: the
    JSON-RPC call of the home page, with the counters its cards ask for)."""
    if path != "/my/counters":
        return lambda: client.get(path, environ_base=ENVIRON)
    home = client.get("/my", environ_base=ENVIRON).get_data(as_text=True)
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"counters": sorted(set(PLACEHOLDER.findall(home)))},
    }
    return lambda: client.post(path, json=payload, environ_base=ENVIRON)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--volume", required=True)
    parser.add_argument("--path", action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sql", action="store_true", help="list one request's SQL")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    customer = read_json(WORK_DIR / "manifest.json")["customers"][args.volume]
    paths = args.path or [
        "/my",
        "/my/subscriptions",
        f"/my/subscriptions/{customer['subscription_id']}",
        "/my/invoices",
    ]
    with odoo_env(args.db, logfile=str(WORK_DIR / "profile.log")):
        pass  # loads the configuration and the registry
    client = client_for(args.db, customer)
    for path in paths:
        path = path.replace("<id>", str(customer["subscription_id"]))
        send = request_for(client, path)
        for _index in range(3):
            assert send().status_code == 200, path
        if args.sql:
            collector = QueryCollector()
            sql_logger = logging.getLogger("odoo.sql_db")
            sql_logger.addHandler(collector)
            sql_logger.setLevel(logging.DEBUG)
            send()
            sql_logger.removeHandler(collector)
            sql_logger.setLevel(logging.WARNING)
            print(f"\n### {path}: {len(collector.queries)} queries")
            for query in collector.queries:
                print(f"  {query}")
        profiler = cProfile.Profile()
        profiler.enable()
        for _index in range(args.repeat):
            send()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\n### {path}: cProfile of {args.repeat} requests")
        print(out.getvalue())
        stats.dump_stats(WORK_DIR / f"page{path.replace('/', '_')}-{args.volume}.prof")


if __name__ == "__main__":
    main()
