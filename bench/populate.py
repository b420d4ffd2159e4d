"""Fill a fresh portal_account database with the benchmark's data.

Usage: python3 bench/populate.py --db bench_x --volumes 10,1000 --subscriptions 1000
       [--invoice-volumes 10,1000] --out bench/.work/manifest.json

Everything goes through the ORM in batches (one ``create`` and one confirm or
post per batch of ``BATCH`` records), with mail tracking and chatter logging
off: this is setup, not what is measured.

- one portal customer per volume N (company + contact + portal user with a
  known password) with N subscriptions (confirmed, monthly plan, two lines; a
  tenth to renew, a twentieth closed, half paid by a demo card), N sales
  documents (half confirmed orders, half sent quotations), N posted invoices
  (twelve for each of the newest subscriptions, a year of monthly bills), N
  helpdesk tickets, three Success Packs and a few hosted databases;
- per engine level L: L company customers with one subscription each, parked
  (next invoice in ten years); half have a valid demo card (``card``), half none
  (``grace``). ``engine.py`` makes a set due today before it measures it;
- one more portal customer per invoice volume N with N posted, unpaid
  invoices and nothing else: core's data only, so that a database with Odoo
  alone (``account_payment`` and ``portal``, ``--volumes '' --subscriptions ''``)
  gets the same customers as the addon's.
"""

import argparse
import sys
import time
from datetime import timedelta

from common import (
    CUSTOMER_LOGIN,
    CUSTOMER_PASSWORD,
    ENGINE_REF,
    INVOICE_CUSTOMER_LOGIN,
    odoo_env,
    write_json,
)

BATCH = 500
PARKED_DAYS = 3650
FAST_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "no_reset_password": True,
}


def log(message):
    print(f"[populate] {message}", file=sys.stderr, flush=True)


def chunks(sequence, size=BATCH):
    for start in range(0, len(sequence), size):
        yield sequence[start : start + size]


class Populator:
    def __init__(self, env):
        from odoo import fields

        self.env = env(context=dict(env.context, **FAST_CONTEXT))
        self.today = fields.Date.context_today(self.env["res.users"])
        self.parked = self.today + timedelta(days=PARKED_DAYS)

    # ------------------------------------------------------------------
    # Shared records
    # ------------------------------------------------------------------

    def setup_base(self):
        env = self.env
        self.plan = env["subscription.plan"].create(
            {
                "name": "Bench Monthly",
                "billing_period_value": 1,
                "billing_period_unit": "month",
                "grace_period_days": 7,
            }
        )
        Product = env["product.product"]
        self.app = Product.create(
            {"name": "Bench App", "type": "service", "list_price": 100.0}
        )
        self.seat = Product.create(
            {"name": "Bench User", "type": "service", "list_price": 20.0}
        )
        self.provider = env.ref("payment.payment_provider_demo")
        if self.provider.state not in ("enabled", "test"):
            self.provider.state = "test"
        self.payment_method = self.provider.payment_method_ids[:1] or env.ref(
            "payment.payment_method_unknown"
        )
        self.expert = env.ref("base.user_admin")

    def _order_lines(self, index):
        from odoo import Command

        return [
            Command.create({"product_id": self.app.id, "product_uom_qty": 1}),
            Command.create(
                {"product_id": self.seat.id, "product_uom_qty": 1 + index % 5}
            ),
        ]

    def _tokens(self, partners, label):
        return self.env["payment.token"].create(
            [
                {
                    "provider_id": self.provider.id,
                    "payment_method_id": self.payment_method.id,
                    "payment_details": f"{4000 + index % 6000:04d}",
                    "partner_id": partner.id,
                    "provider_ref": f"bench-{label}-{index}",
                    "demo_simulated_state": "done",
                }
                for index, partner in enumerate(partners)
            ]
        )

    def _subscriptions(self, partners, ref, start, tokens=None):
        """One confirmed subscription per partner (a partner may repeat)."""
        SaleOrder = self.env["sale.order"]
        orders = SaleOrder.browse()
        tokens = list(tokens or [])
        for batch in chunks(list(enumerate(partners))):
            created = SaleOrder.create(
                [
                    {
                        "partner_id": partner.id,
                        "subscription_plan_id": self.plan.id,
                        "subscription_start_date": start,
                        "client_order_ref": ref,
                        "payment_token_id": tokens[index].id if tokens else False,
                        "order_line": self._order_lines(index),
                    }
                    for index, partner in batch
                ]
            )
            created.action_confirm()
            orders |= created
        return orders

    # ------------------------------------------------------------------
    # Portal customers
    # ------------------------------------------------------------------

    def _portal_contact(self, label, login, password):
        """A company and its contact, the contact a portal user."""
        from odoo import Command

        env = self.env
        company = env["res.partner"].create(
            {
                "name": f"Bench Customer {label}",
                "is_company": True,
                "email": f"customer{label}@bench.example.com",
            }
        )
        contact = env["res.partner"].create(
            {
                "name": f"Bench Contact {label}",
                "parent_id": company.id,
                "email": f"contact{label}@bench.example.com",
            }
        )
        env["res.users"].create(
            {
                "name": contact.name,
                "login": login,
                "password": password,
                "partner_id": contact.id,
                "groups_id": [Command.set([env.ref("base.group_portal").id])],
            }
        )
        return company, contact

    def create_customer(self, volume):
        env = self.env
        t0 = time.perf_counter()
        login = CUSTOMER_LOGIN.format(volume=volume)
        company, contact = self._portal_contact(
            volume, login, CUSTOMER_PASSWORD.format(volume=volume)
        )
        tokens = self._tokens([contact, contact], f"customer{volume}")

        subscriptions = self._subscriptions(
            [contact] * volume,
            f"bench-portal-{volume}",
            self.today - timedelta(days=60),
        )
        subscriptions[::2].payment_token_id = tokens[0]
        subscriptions.next_invoice_date = self.today + timedelta(days=20)
        closed = subscriptions[5::20]
        closed.write({"subscription_state": "closed", "close_reason": "manual"})
        # A far checked date keeps the renewal engine away from them.
        (subscriptions[3::10] - closed).write(
            {
                "subscription_state": "to_renew",
                "renewal_deadline": self.today + timedelta(days=5),
                "subscription_checked_date": self.parked,
            }
        )
        log(
            f"customer {volume}: {volume} subscriptions {time.perf_counter() - t0:.0f}s"
        )

        self._sales_documents(contact, volume)
        log(f"customer {volume}: orders/quotes {time.perf_counter() - t0:.0f}s")
        self._invoices(contact, subscriptions, volume)
        log(f"customer {volume}: invoices {time.perf_counter() - t0:.0f}s")
        self._tickets(contact, subscriptions, volume)
        log(f"customer {volume}: tickets {time.perf_counter() - t0:.0f}s")

        env["success.pack"].create(
            [
                {
                    "name": f"Bench Pack {index}",
                    "partner_id": company.id,
                    "expert_id": self.expert.id,
                    "hours_purchased": 10 + index,
                }
                for index in range(3)
            ]
        )
        # The first row of /my/subscriptions, as the page a customer opens next.
        measured = subscriptions[-1]
        measured.payment_token_id = tokens[1]
        env["hosted.database"].create(
            [
                {
                    "name": f"bench{volume}-db{index}",
                    "url": f"https://bench{volume}-db{index}.example.com",
                    "partner_id": company.id,
                    "subscription_id": subscription.id,
                }
                for index, subscription in enumerate(
                    [measured] * 3 + list(subscriptions[10::10][:50])
                )
            ]
        )
        env.flush_all()
        return {
            "login": login,
            "password": CUSTOMER_PASSWORD.format(volume=volume),
            "partner_id": contact.id,
            "subscription_id": measured.id,
            "seconds": round(time.perf_counter() - t0, 1),
        }

    def _sales_documents(self, partner, volume):
        SaleOrder = self.env["sale.order"]
        for batch in chunks(range(volume)):
            orders = SaleOrder.create(
                [
                    {
                        "partner_id": partner.id,
                        "client_order_ref": f"bench-order-{volume}-{index}",
                        "order_line": self._order_lines(index),
                    }
                    for index in batch
                ]
            )
            half = len(orders) // 2
            orders[:half].action_confirm()
            orders[half:].action_quotation_sent()

    def _invoices(self, partner, subscriptions, volume):
        from dateutil.relativedelta import relativedelta

        from odoo import Command

        Move = self.env["account.move"].with_context(default_move_type="out_invoice")
        for batch in chunks(range(volume)):
            values = []
            for index in batch:
                # The newest subscriptions first: the measured one has a year of bills.
                position = len(subscriptions) - 1 - index // 12
                subscription = subscriptions[position : position + 1]
                period = self.today - relativedelta(months=12 - index % 12)
                values.append(
                    {
                        "move_type": "out_invoice",
                        "partner_id": partner.id,
                        "invoice_date": self.today - timedelta(days=index % 300),
                        "subscription_id": subscription.id,
                        "subscription_period_start": period if subscription else False,
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "product_id": self.app.id,
                                    "quantity": 1,
                                    "price_unit": 100.0 + index % 7,
                                }
                            )
                        ],
                    }
                )
            Move.create(values).action_post()

    def create_invoice_customer(self, volume):
        """A customer with ``volume`` posted, unpaid invoices and nothing else."""
        from odoo import Command

        t0 = time.perf_counter()
        login = INVOICE_CUSTOMER_LOGIN.format(volume=volume)
        password = CUSTOMER_PASSWORD.format(volume=volume)
        _company, contact = self._portal_contact(f"invoices {volume}", login, password)
        Move = self.env["account.move"].with_context(default_move_type="out_invoice")
        for batch in chunks(range(volume)):
            Move.create(
                [
                    {
                        "move_type": "out_invoice",
                        "partner_id": contact.id,
                        "invoice_date": self.today - timedelta(days=index % 300),
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "name": "Bench service",
                                    "quantity": 1,
                                    "price_unit": 100.0 + index % 7,
                                }
                            )
                        ],
                    }
                    for index in batch
                ]
            ).action_post()
        self.env.flush_all()
        log(f"invoice customer {volume}: {time.perf_counter() - t0:.0f}s")
        return {
            "login": login,
            "password": password,
            "partner_id": contact.id,
            "seconds": round(time.perf_counter() - t0, 1),
        }

    def _tickets(self, partner, subscriptions, volume):
        Ticket = self.env["helpdesk.ticket"]
        for batch in chunks(range(volume)):
            Ticket.create(
                [
                    {
                        "name": f"Bench question {index}",
                        "description": f"<p>Question {index} about my database</p>",
                        "partner_id": partner.id,
                        "subscription_id": subscriptions[index % len(subscriptions)].id,
                    }
                    for index in batch
                ]
            )

    # ------------------------------------------------------------------
    # Renewal engine
    # ------------------------------------------------------------------

    def create_engine_set(self, level, tag=None, card_max=None):
        """``level`` subscriptions of as many customers, parked; half with a card.

        ``card_max`` caps the card half (billing is the slow path).
        """
        t0 = time.perf_counter()
        tag = tag or level
        result = {}
        half = level // 2
        card_count = min(half, card_max) if card_max else half
        for kind, count in (("grace", level - half), ("card", card_count)):
            partners = self.env["res.partner"].create(
                [
                    {
                        "name": f"Bench Renewal {tag} {kind} {index}",
                        "is_company": True,
                        "email": f"renewal{tag}-{kind}-{index}@bench.example.com",
                    }
                    for index in range(count)
                ]
            )
            ref = ENGINE_REF.format(level=tag, kind=kind)
            tokens = self._tokens(partners, f"renewal{tag}") if kind == "card" else None
            subscriptions = self._subscriptions(partners, ref, self.today, tokens)
            subscriptions.next_invoice_date = self.parked
            self.env.flush_all()
            result[kind] = {"ref": ref, "count": count}
        log(f"engine set {tag}: {time.perf_counter() - t0:.0f}s")
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--volumes", default="10,1000,10000")
    parser.add_argument("--subscriptions", default="1000,10000")
    parser.add_argument(
        "--profile-set",
        type=int,
        default=0,
        help="also an engine set of this size tagged 'profile', for cProfile runs",
    )
    parser.add_argument(
        "--card-max", type=int, default=0, help="cap of the card half of a level"
    )
    parser.add_argument(
        "--engine-sets",
        type=int,
        default=1,
        help="identical sets per level (the 2nd tagged '<level>-2', ...), for "
        "runs that each use one up (scaleout.py)",
    )
    parser.add_argument(
        "--invoice-volumes",
        default="",
        help="customers with only this many posted, unpaid invoices (core data)",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    volumes = [int(value) for value in args.volumes.split(",") if value]
    levels = [int(value) for value in args.subscriptions.split(",") if value]
    invoice_volumes = [int(value) for value in args.invoice_volumes.split(",") if value]

    manifest = {"customers": {}, "engine": {}, "invoice_customers": {}}
    with odoo_env(args.db) as env:
        from odoo.tools import SQL

        populator = Populator(env)
        for volume in invoice_volumes:
            manifest["invoice_customers"][str(volume)] = (
                populator.create_invoice_customer(volume)
            )
            env.cr.commit()
        # Plans, products and the demo provider: portal_account's data only.
        if volumes or levels or args.profile_set:
            populator.setup_base()
            env.cr.commit()
        for volume in volumes:
            manifest["customers"][str(volume)] = populator.create_customer(volume)
            env.cr.commit()
        for level in levels:
            for copy in range(1, args.engine_sets + 1):
                tag = str(level) if copy == 1 else f"{level}-{copy}"
                manifest["engine"][tag] = populator.create_engine_set(
                    level, tag=tag, card_max=args.card_max
                )
                env.cr.commit()
        if args.profile_set:
            manifest["engine"]["profile"] = populator.create_engine_set(
                args.profile_set, tag="profile"
            )
            env.cr.commit()
        manifest["today"] = str(populator.today)
        # Fresh statistics, as autovacuum keeps them on a live database: without
        # them PostgreSQL plans the portal's record rules as on empty tables.
        env.cr.execute(SQL("ANALYZE"))
        env.cr.commit()
    write_json(args.out, manifest)


if __name__ == "__main__":
    main()
