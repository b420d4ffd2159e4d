"""Measure the renewal engine on one set of subscriptions, in a fresh process.

Usage: python3 bench/engine.py --db bench_x --level 1000 --kind grace|card
       [--mode engine|baseline] [--profile out.prof] [--out result.json]

``engine``: the set (tagged by populate.py) is made due today (setup, not
timed), then ``sale.order._cron_subscription_renewal()`` is called as the
scheduled action calls it (cron user, committing per unit of work) until
nothing is left; it emails each batch's notices (grace period notices, payment
receipts) itself. Then ``_cron_subscription_send_notices()``, the scheduled
action that catches up on notices left queued, is called too, and timed with
the rest; the outcome is checked (states, mails, invoices, payments).

``baseline``: the bare cost of the same invoices (same partners, same lines,
same taxes) created and posted with the ORM, in batches of the engine's batch
size, committed per batch; no subscription link, no charge.

``core-grace`` (grace set only): the same grace transitions the plain-core
way, as a module without the engine's batching would make them: for each
subscription, a tracked ``write`` (ORM tracking, one chatter note each) and the
To Renew template's ``send_mail``, committed per batch of the engine's size.

``paid-baseline``: the same, then each batch paid as an accountant pays it in
the backend, with core's Register Payment (one payment per invoice, in the
journal and with the payment method of the subscriptions' payment provider):
the bare cost of invoices and the payments core records for them.

Peak memory is the growth of the process's max RSS over the measured part.
"""

import argparse
import contextlib
import cProfile
import pstats
import resource
import sys
import time

from common import ENGINE_REF, odoo_env, write_json


def log(message):
    print(f"[engine] {message}", file=sys.stderr, flush=True)


def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_cron(env, method, domain):
    """Call the scheduled action's method until nothing is left, as the runner does."""
    SaleOrder = env["sale.order"]
    calls = done = 0
    while True:
        calls += 1
        handled = getattr(SaleOrder, method)()
        env.cr.commit()
        done += handled
        if not handled or not SaleOrder.search_count(domain):
            break
    return calls, done


@contextlib.contextmanager
def timer_on(model_class, name, totals):
    """Add the time spent in the method ``name`` of ``model_class`` to ``totals``."""
    original = getattr(model_class, name)

    def timed(records, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(records, *args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    setattr(model_class, name, timed)
    try:
        yield
    finally:
        delattr(model_class, name)


def run_engine(env, subscriptions, today):
    """The renewal run, then the notices run that catches up on what it left.

    The time spent emailing the notices (``_subscription_send_notices``) is
    measured apart too, as ``email_seconds``.
    """
    SaleOrder = env["sale.order"]
    domain = SaleOrder._renewal_due_domain(today)
    due = SaleOrder.search_count(domain)
    if due != len(subscriptions):
        log(f"warning: {due} subscriptions due, {len(subscriptions)} in the set")
    totals = {"_subscription_send_notices": 0.0}
    with timer_on(type(SaleOrder), "_subscription_send_notices", totals):
        calls, done = run_cron(env, "_cron_subscription_renewal", domain)
        __, left = run_cron(
            env,
            "_cron_subscription_send_notices",
            [("subscription_notice", "!=", False)],
        )
    return {
        "calls": calls,
        "done": done,
        "notices_left": left,
        "email_seconds": round(totals["_subscription_send_notices"], 3),
    }


def check_engine(env, subscriptions, kind, today, mail_floor=0):
    """What a user would see after the run: states, invoices, payments, mails."""
    from dateutil.relativedelta import relativedelta

    env.invalidate_all()
    subscriptions = subscriptions.with_env(env)
    mails = env["mail.mail"].search_count(
        [
            ("model", "=", "sale.order"),
            ("res_id", "in", subscriptions.ids),
            ("id", ">", mail_floor),
        ]
    )
    if kind == "grace":
        ok = subscriptions.filtered(
            lambda s: s.subscription_state == "to_renew"
            and s.renewal_deadline == today + relativedelta(days=7)
        )
        return {"ok": len(ok), "mails": mails}
    invoices = env["account.move"].search(
        [
            ("subscription_id", "in", subscriptions.ids),
            ("subscription_period_start", "=", today),
        ]
    )
    paid = invoices.filtered(lambda m: m.payment_state in ("paid", "in_payment"))
    ok = subscriptions.filtered(
        lambda s: s.subscription_state == "in_progress"
        and s.next_invoice_date == today + relativedelta(months=1)
    )
    return {
        "ok": len(ok),
        "invoices": len(invoices.filtered(lambda m: m.state == "posted")),
        "paid": len(paid),
        "mails": mails,
    }


def run_core_grace(env, subscriptions, today, batch_size):
    """The grace transitions one record at a time, with core's public calls."""
    from dateutil.relativedelta import relativedelta

    template = env.ref("portal_account.mail_template_subscription_to_renew")
    orders = subscriptions.with_context(mail_notrack=False, tracking_disable=False)
    for start in range(0, len(orders), batch_size):
        for order in orders[start : start + batch_size]:
            order.write(
                {
                    "subscription_state": "to_renew",
                    "renewal_deadline": today
                    + relativedelta(days=order.subscription_plan_id.grace_period_days),
                    "subscription_checked_date": today,
                }
            )
            template.send_mail(order.id)
        env.cr.commit()
    return {"calls": 1, "done": len(orders)}


def baseline_values(subscriptions, today):
    """The engine's invoices without the engine: same partner, lines and taxes."""
    from odoo import Command

    values = []
    for order in subscriptions:
        lines = order.order_line.filtered(lambda line: not line.display_type)
        values.append(
            {
                "move_type": "out_invoice",
                "partner_id": order.partner_invoice_id.id,
                "invoice_date": today,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": line.product_id.id,
                            "name": line.name,
                            "quantity": line.product_uom_qty,
                            "price_unit": line.price_unit,
                            "tax_ids": [Command.set(line.tax_id.ids)],
                        }
                    )
                    for line in lines
                ],
            }
        )
    return values


def run_baseline(env, values, batch_size, provider=None):
    """Create and post the invoices; with ``provider``, pay them as core does."""
    Move = env["account.move"].with_context(default_move_type="out_invoice")
    for start in range(0, len(values), batch_size):
        invoices = Move.create(values[start : start + batch_size])
        invoices.action_post()
        if provider:
            register_payments(env, invoices, provider)
        env.cr.commit()
    return {"calls": 1, "done": len(values)}


def register_payments(env, invoices, provider):
    """Core's Register Payment on ``invoices``: one payment each."""
    method_line = provider.journal_id.inbound_payment_method_line_ids.filtered(
        lambda line: line.payment_provider_id == provider
    )
    env["account.payment.register"].with_context(
        active_model="account.move", active_ids=invoices.ids
    ).create(
        {
            "journal_id": provider.journal_id.id,
            "payment_method_line_id": method_line.id,
            "group_payment": False,
        }
    )._create_payments()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--level", required=True, help="a level, or 'profile'")
    parser.add_argument("--kind", choices=("grace", "card"), required=True)
    parser.add_argument(
        "--mode",
        choices=("engine", "core-grace", "baseline", "paid-baseline"),
        default="engine",
    )
    parser.add_argument("--limit", type=int, help="only the first N of the set")
    parser.add_argument("--profile", help="write cProfile stats to this file")
    parser.add_argument("--logfile", help="Odoo log file")
    parser.add_argument("--out")
    args = parser.parse_args()

    from odoo import SUPERUSER_ID, fields

    with odoo_env(args.db, logfile=args.logfile) as env:
        # Importable once the registry has set up the addons path.
        from odoo.addons.portal_account.models.sale_order_renewal import (
            RENEWAL_BATCH_SIZE,
        )

        env = env(user=SUPERUSER_ID, context={"lastcall": fields.Datetime.now()})
        today = fields.Date.context_today(env["res.users"])
        ref = ENGINE_REF.format(level=args.level, kind=args.kind)
        subscriptions = env["sale.order"].search(
            [("client_order_ref", "=", ref)], order="id"
        )[: args.limit]
        if not subscriptions:
            sys.exit(f"no subscriptions tagged {ref}: run populate.py first")
        if args.mode in ("engine", "core-grace"):
            # Due today, and as the engine found them before any run (a run of
            # the other mode on the same set left them to renew).
            subscriptions.with_context(tracking_disable=True).write(
                {
                    "next_invoice_date": today,
                    "subscription_state": "in_progress",
                    "renewal_deadline": False,
                    "subscription_checked_date": False,
                    "subscription_notice": False,
                }
            )
            env.cr.commit()
        else:
            values = baseline_values(subscriptions, today)
        mail_floor = env["mail.mail"].search([], order="id desc", limit=1).id or 0
        env.invalidate_all()
        rss_before = max_rss_mb()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        if args.mode == "engine":
            result = run_engine(env, subscriptions, today)
        elif args.mode == "core-grace":
            result = run_core_grace(env, subscriptions, today, RENEWAL_BATCH_SIZE)
        else:
            provider = (
                subscriptions.payment_token_id.provider_id[:1]
                if args.mode == "paid-baseline"
                else None
            )
            result = run_baseline(env, values, RENEWAL_BATCH_SIZE, provider)
        seconds = time.perf_counter() - start
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
            with open(f"{args.profile}.txt", "w", encoding="utf-8") as handle:
                stats = pstats.Stats(profiler, stream=handle)
                stats.sort_stats("cumulative").print_stats(60)
                stats.sort_stats("tottime").print_stats(40)
        result.update(
            {
                "level": args.level,
                "kind": args.kind,
                "mode": args.mode,
                "count": len(subscriptions),
                "seconds": round(seconds, 3),
                "per_second": round(len(subscriptions) / seconds, 1),
                "peak_rss_mb": round(max_rss_mb(), 1),
                "rss_growth_mb": round(max_rss_mb() - rss_before, 1),
            }
        )
        if args.mode in ("engine", "core-grace"):
            result["check"] = check_engine(
                env, subscriptions, args.kind, today, mail_floor
            )
        env.cr.commit()
    log(str(result))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
