"""The renewal run fanned out to queue jobs (portal_account_queue): 1 vs N workers.

Usage: python3 bench/scaleout.py [--grace 5000] [--cards 2000] [--workers 1,2]
       [--db bench_portal_account_queue] [--reuse-db]

A throwaway database gets portal_account, portal_account_queue (and so OCA
queue_job) and payment_demo, then one identical engine set per worker count
(populate.py: ``--grace`` subscriptions without a card, ``--cards`` with a demo
card, each of its own customer). For each worker count N, a real Odoo server
is started with N HTTP workers and queue_job's job runner
(``--load=base,web,queue_job``, channels ``root:N,root.subscription_renewal:N``);
then, for the grace set and the card set in turn, the set is made due today
(setup, not timed), the scheduled action is called (it enqueues the batches),
the job runner runs them, and the notices scheduled action catches up on what
was left queued. The time is from the call of the scheduled action to the end
of the notices. The outcome is checked as engine.py checks it.

While the jobs run, ``pg_stat_activity`` is sampled every 50 ms: what each of
the database's busy connections is doing (running SQL, waiting for a lock and
which, flushing the WAL of a commit, or working in Python inside its
transaction), from the scheduled action's end to the last job's. The
shares are printed with the table (and written to
``bench/.work/scaleout.json``, the table to ``bench/results-scaleout.md``).
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime

from common import BENCH_DIR, ENGINE_REF, WORK_DIR, addons_path, free_port, odoo_env
from run import install_db, log, odoo_command, run

SAMPLE_SECONDS = 0.05
CHANNEL = "root.subscription_renewal"


# ----------------------------------------------------------------------
# Steps inside Odoo, each in a fresh process (--step)
# ----------------------------------------------------------------------


def step_due(env, ref):
    """Make the set due today (setup)."""
    from odoo import fields

    today = fields.Date.context_today(env["res.users"])
    subscriptions = env["sale.order"].search([("client_order_ref", "=", ref)])
    subscriptions.with_context(tracking_disable=True).write(
        {"next_invoice_date": today}
    )
    return {"count": len(subscriptions)}


def step_enqueue(env, ref):
    """The scheduled action, as ir.cron calls it: it enqueues the batches."""
    started_at = time.time()
    start = time.perf_counter()
    jobs = env["sale.order"]._cron_subscription_renewal()
    return {
        "jobs": jobs,
        "seconds": time.perf_counter() - start,
        "started_at": started_at,
    }


def step_notices(env, ref):
    """The notices scheduled action, which the engine triggers, until done."""
    from engine import run_cron

    start = time.perf_counter()
    env = env(context=dict(env.context, subscription_renewal_commit=True))
    __, left = run_cron(
        env, "_cron_subscription_send_notices", [("subscription_notice", "!=", False)]
    )
    return {"notices_left": left, "seconds": time.perf_counter() - start}


def step_check(env, ref):
    from engine import check_engine

    from odoo import fields

    today = fields.Date.context_today(env["res.users"])
    subscriptions = env["sale.order"].search([("client_order_ref", "=", ref)])
    kind = "grace" if ref.endswith("-grace") else "card"
    result = check_engine(env, subscriptions, kind, today)
    jobs = env["queue.job"].search([("channel", "=", CHANNEL)])
    result["jobs"] = dict(collections.Counter(jobs.mapped("state")))
    return result


STEPS = {
    "due": step_due,
    "enqueue": step_enqueue,
    "notices": step_notices,
    "check": step_check,
}


def run_step(args):
    from odoo import SUPERUSER_ID, fields

    with odoo_env(args.db, logfile=str(WORK_DIR / "scaleout-steps.log")) as env:
        env = env(user=SUPERUSER_ID, context={"lastcall": fields.Datetime.now()})
        result = STEPS[args.step](env, args.ref)
        env.cr.commit()
    print(json.dumps(result, default=str))


def step(db, name, ref):
    out = subprocess.run(
        [sys.executable, __file__, "--db", db, "--step", name, "--ref", ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------
# What the busy connections do
# ----------------------------------------------------------------------


def classify(state, wait_type, wait_event, query):
    """One sample of a busy connection, as what it is waiting for."""
    query = " ".join((query or "").split())
    if state == "idle in transaction":
        return "Python, inside the transaction"
    if wait_type == "Lock":
        if 'UPDATE "account_move" SET "name"' in query:
            return "lock: journal entry number (journal sequence)"
        if "FROM sale_order" in query and "FOR NO KEY UPDATE" in query:
            return "lock: subscription rows"
        if "reconcile" in query or "account_move_line" in query:
            return "lock: reconciliation (journal items)"
        if "ir_sequence" in query:
            return "lock: ir.sequence"
        if "queue_job" in query:
            return "lock: queue_job rows"
        return f"lock ({wait_event}): {query[:60]}"
    if query.upper().startswith("COMMIT") or wait_event in ("WALSync", "WALWrite"):
        return "commit (WAL flush)"
    if wait_type == "LWLock":
        return f"LWLock {wait_event}"
    if wait_type == "IO":
        return f"IO {wait_event}"
    return "running SQL"


class Sampler(threading.Thread):
    """Samples the database's busy connections until stopped."""

    def __init__(self, db):
        super().__init__(daemon=True)
        import psycopg2

        self.conn = psycopg2.connect(dbname=db)
        self.conn.autocommit = True
        self.db = db
        self.counts = collections.Counter()
        self.busy_counts = collections.Counter()  # busy connections per sample
        self.samples = 0
        self.stopping = threading.Event()

    def run(self):
        with self.conn.cursor() as cr:
            while not self.stopping.wait(SAMPLE_SECONDS):
                cr.execute(
                    """
                    SELECT state, wait_event_type, wait_event, query
                      FROM pg_stat_activity
                     WHERE datname = %s AND pid != pg_backend_pid()
                       AND state IN ('active', 'idle in transaction')
                       AND query NOT ILIKE 'LISTEN%%'
                       -- queue_job's lock on the running job, held by the
                       -- request's own cursor while the job works on another
                       AND query NOT ILIKE '%%queue_job_lock%%'
                    """,
                    [self.db],
                )
                rows = cr.fetchall()
                self.samples += 1
                self.busy_counts[len(rows)] += 1
                for row in rows:
                    self.counts[classify(*row)] += 1

    def stop(self):
        self.stopping.set()
        self.join()
        self.conn.close()
        return {
            "samples": self.samples,
            "busy_connections": dict(sorted(self.busy_counts.items())),
            "what": dict(self.counts.most_common()),
        }


# ----------------------------------------------------------------------
# Server with job runner
# ----------------------------------------------------------------------


class JobServer:
    """Odoo with ``workers`` HTTP workers and queue_job's job runner."""

    def __init__(self, db, workers):
        self.db, self.workers = db, workers
        self.port = free_port()
        self.logfile = WORK_DIR / f"scaleout-server-{workers}.log"

    def __enter__(self):
        env = dict(
            os.environ,
            ODOO_QUEUE_JOB_CHANNELS=f"root:{self.workers},{CHANNEL}:{self.workers}",
            ODOO_QUEUE_JOB_PORT=str(self.port),
            ODOO_QUEUE_JOB_HOST="127.0.0.1",
        )
        self.process = subprocess.Popen(
            [
                *odoo_command(),
                "-d",
                self.db,
                f"--db-filter=^{self.db}$",
                f"--addons-path={addons_path()}",
                "--load=base,web,queue_job",
                "--http-interface=127.0.0.1",
                f"--http-port={self.port}",
                f"--workers={self.workers}",
                "--max-cron-threads=0",
                # A batch of 500 card renewals takes about a minute alone.
                "--limit-time-real=3600",
                "--limit-time-cpu=3600",
                f"--logfile={self.logfile}",
                "--log-level=info",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Odoo server stopped, see {self.logfile}")
            if self.logfile.exists() and "queue job runner ready" in (
                self.logfile.read_text(errors="replace")
            ):
                return self
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the job runner did not start, see {self.logfile}")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def jobs_left(db):
    import psycopg2

    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT state, count(*) FROM queue_job WHERE channel = %s GROUP BY state",
            [CHANNEL],
        )
        states = dict(cr.fetchall())
    return sum(states.get(s, 0) for s in ("pending", "enqueued", "started")), states


def job_times(db, since):
    """The jobs' total run time, their count, and when the last one ended."""
    import psycopg2

    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT sum(exec_time), count(*),"
            " extract(epoch FROM max(date_done) AT TIME ZONE 'UTC')"
            " FROM queue_job WHERE channel = %s AND date_created >= %s",
            [CHANNEL, since],
        )
        return cr.fetchone()


def measure(db, ref, timeout):
    """The run's time: from the scheduled action's call to the end of its last
    job (the job runner's dispatching included), plus the notices catch-up;
    not the start of the processes that call them."""
    step(db, "due", ref)
    since = datetime.utcnow()
    enqueued = step(db, "enqueue", ref)
    sampler = Sampler(db)
    sampler.start()
    deadline = time.monotonic() + timeout
    while True:
        left, states = jobs_left(db)
        if not left:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still running after {timeout}s: {states}")
        time.sleep(0.2)
    waits = sampler.stop()
    notices = step(db, "notices", ref)
    exec_seconds, job_count, last_done = job_times(db, since)
    jobs_seconds = float(last_done) - enqueued["started_at"]
    return {
        "ref": ref,
        "seconds": round(jobs_seconds + notices["seconds"], 2),
        "enqueue_seconds": round(enqueued["seconds"], 2),
        "jobs": enqueued["jobs"],
        "jobs_seconds": round(jobs_seconds, 2),
        "notices_seconds": round(notices["seconds"], 2),
        "job_exec_seconds": round(exec_seconds or 0, 2),
        "job_count": job_count,
        "waits": waits,
        "check": step(db, "check", ref),
    }


# ----------------------------------------------------------------------
# Table
# ----------------------------------------------------------------------


def render(results, args, workers):
    def rate(row, count):
        return (
            f"{count:,} in {row['seconds']:.1f} s = **{count / row['seconds']:.0f}/s**"
        )

    lines = [
        "# portal_account renewal run on queue jobs (portal_account_queue)",
        "",
        f"`python3 bench/scaleout.py --grace {args.grace} --cards {args.cards} "
        f"--workers {args.workers}`",
        "",
        f"Finished {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores "
        "(PostgreSQL on the same machine), Odoo 18.0 CE with OCA queue_job, "
        "one server with N HTTP workers and its job runner, channel "
        f"`{CHANNEL}` of capacity N.",
        "",
        "| renewal run on queue jobs | "
        + " | ".join(f"{n} worker{'s' if n > 1 else ''}" for n in workers)
        + " | speed-up |",
        "|---|" + "---|" * (len(workers) + 1),
    ]
    for kind, count, label in (
        ("grace", args.grace, "grace transitions (no card), notices emailed"),
        ("card", args.cards, "billing + charging (card), receipts emailed"),
    ):
        rows = [results[f"{n}-{kind}"] for n in workers]
        speedup = rows[0]["seconds"] / rows[-1]["seconds"]
        lines.append(
            f"| {label} | "
            + " | ".join(rate(row, count) for row in rows)
            + f" | **{speedup:.2f}x** |"
        )
    for kind in ("grace", "card"):
        rows = [results[f"{n}-{kind}"] for n in workers]
        lines.append(
            f"| {kind}: jobs, time in jobs (sum of their run times) | "
            + " | ".join(
                f"{row['job_count']} jobs, {row['job_exec_seconds']:.1f} s"
                for row in rows
            )
            + " | |"
        )
        lines.append(
            f"| {kind}: outcome checked | "
            + " | ".join(json.dumps(row["check"], sort_keys=True) for row in rows)
            + " | |"
        )
    lines += [
        "",
        "Where the busy connections were (share of samples, every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms, of the connections in a transaction):",
        "",
    ]
    for n in workers:
        for kind in ("grace", "card"):
            waits = results[f"{n}-{kind}"]["waits"]
            total = sum(waits["what"].values()) or 1
            shares = ", ".join(
                f"{what} {count * 100 / total:.0f}%"
                for what, count in waits["what"].items()
            )
            lines.append(f"- {n} worker(s), {kind}: {shares}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="bench_portal_account_queue")
    parser.add_argument("--grace", type=int, default=5000)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--ref", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        return run_step(args)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    workers = [int(value) for value in args.workers.split(",")]
    level = 2 * args.grace  # populate.py: grace = level - level // 2
    started = time.perf_counter()
    if not args.reuse_db:
        install_db(
            args.db,
            "portal_account,portal_account_queue,payment_demo",
            "install-scaleout.log",
        )
        run(
            [
                sys.executable,
                str(BENCH_DIR / "populate.py"),
                "--db",
                args.db,
                "--volumes",
                "",
                "--subscriptions",
                str(level),
                "--card-max",
                str(args.cards),
                "--engine-sets",
                str(len(workers)),
                "--out",
                str(WORK_DIR / "manifest-scaleout.json"),
            ]
        )
    results = {}
    for copy, n in enumerate(workers, start=1):
        tag = str(level) if copy == 1 else f"{level}-{copy}"
        with JobServer(args.db, n):
            for kind in ("grace", "card"):
                ref = ENGINE_REF.format(level=tag, kind=kind)
                log(f"{n} worker(s): {ref}")
                results[f"{n}-{kind}"] = measure(args.db, ref, args.timeout)
                log(json.dumps(results[f"{n}-{kind}"], default=str))
    (WORK_DIR / "scaleout.json").write_text(json.dumps(results, indent=2, default=str))
    table = render(results, args, workers)
    table += f"\nWhole run {(time.perf_counter() - started) / 60:.0f} min.\n"
    (BENCH_DIR / "results-scaleout.md").write_text(table)
    print(table)


if __name__ == "__main__":
    sys.exit(main())
