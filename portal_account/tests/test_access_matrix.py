# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who sees what under /my: every portal route x document x actor.

Core's, OCA's and this addon's portal routes are asked by seven actors, each
cell is checked against the table below with ``allow_redirects=False``. Every
cell also checks that no name, amount or card digits of a customer other than
the actor's own company shows in the answer.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import Command, http
from odoo.tests import new_test_user, tagged

from .common_portal import PortalAccountHttpCommon

# The actors, in the order of the table's columns.
ACTORS = (
    "owner",  # Ann, the contact of Acme the documents are made out to
    "colleague",  # Bob, another contact of Acme
    "other",  # Zed, contact of another customer (Zyx Secret Corp)
    "anonymous",  # nobody logged in, no access token
    "wrong_token",  # nobody logged in, a made-up access token
    "right_token",  # nobody logged in, the document's own access token
    "internal",  # an employee without sales, invoicing or helpdesk rights
)

# What a cell must answer. "{doc}" is the row's document (Acme's), "{own}" the
# same kind of document of the actor's own company (Zyx's for Zed).
EXPECT = {
    # code: (status or redirection, must contain, must not contain)
    "show": (200, ("{doc}",), ()),
    "own": (200, ("{own}",), ("{doc}",)),
    "empty": (200, (), ("{doc}",)),
    "403": (403, (), ("{doc}",)),
    "my": ("/my", (), ("{doc}",)),
    "login": ("/web/login", (), ("{doc}",)),
    "asked": ("{doc_url}&message=ask_changes_ok", (), ()),
    "cant": ("{doc_url}&message=cant_ask_changes", (), ()),
    "closed": ("/my/ticket/{doc_id}", (), ()),
    "closing": ("/my/subscriptions/{doc_id}?message=closing", (), ()),
    "undone": ("/my/subscriptions/{doc_id}?message=close_undone", (), ()),
    # The upsell quotation's page, with its access token.
    "upsell": ("/my/orders/*", (), ()),
}

# Every portal route: (method and path, document it shows).
ROUTES = {
    "home": ("GET /my", None),
    "quotes": ("GET /my/quotes", "quote"),
    "orders": ("GET /my/orders", "order"),
    "quote": ("GET /my/orders/{quote}", "quote"),
    "order": ("GET /my/orders/{order}", "order"),
    "sub_as_order": ("GET /my/orders/{subscription}", "subscription"),
    "invoices": ("GET /my/invoices", "invoice"),
    "invoice": ("GET /my/invoices/{invoice}", "invoice"),
    "export": ("GET /my/invoices/export", "invoice"),
    "cards": ("GET /my/payment_method", "card"),
    "tickets": ("GET /my/tickets", "ticket"),
    "ticket": ("GET /my/ticket/{ticket}", "ticket"),
    "subs": ("GET /my/subscriptions", "subscription"),
    "sub": ("GET /my/subscriptions/{subscription}", "subscription"),
    "quote_as_sub": ("GET /my/subscriptions/{quote}", "quote"),
    "order_as_sub": ("GET /my/subscriptions/{order}", "order"),
    "sub_card": ("GET /my/subscriptions/{subscription}/payment_method", "subscription"),
    "sub_change": ("GET /my/subscriptions/{subscription}/change", "subscription"),
    "sub_change_post": (
        "POST /my/subscriptions/{subscription}/change",
        "subscription",
    ),
    "sub_close": ("POST /my/subscriptions/{subscription}/close", "subscription"),
    "sub_undo": ("POST /my/subscriptions/{subscription}/close/undo", "subscription"),
    "packs": ("GET /my/success_packs", "pack"),
    "ask_quote": ("POST /my/orders/{quote}/ask_changes", "quote"),
    "ask_order": ("POST /my/orders/{order}/ask_changes", "order"),
    "close_ticket": (
        "GET /ticket/close?ticket_id={ticket}&stage_id={done_stage}",
        "ticket",
    ),
}

# The expected outcome of every cell (codes in EXPECT).
# fmt: off
MATRIX = {
    #                owner     colleague other  anonymous wrong    right    internal
    "home":         ("show",   "show",   "show", "login", "login", "login", "show"),
    "quotes":       ("show",   "show",   "own",  "login", "login", "login", "403"),
    "orders":       ("show",   "show",   "own",  "login", "login", "login", "403"),
    "quote":        ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "order":        ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "sub_as_order": ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "invoices":     ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "invoice":      ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "export":       ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "cards":        ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "tickets":      ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "ticket":       ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "subs":         ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "sub":          ("show",   "show",   "my",   "my",    "my",    "show",  "my"),
    "quote_as_sub": ("my",     "my",     "my",   "my",    "my",    "my",    "my"),
    "order_as_sub": ("my",     "my",     "my",   "my",    "my",    "my",    "my"),
    "sub_card":     ("show",   "show",   "my",   "my",    "my",    "login", "my"),
    "sub_change":   ("show",   "show",   "my",   "my",    "my",    "login", "my"),
    "sub_change_post": ("upsell", "upsell", "my", "my",   "my",    "login", "my"),
    "sub_close":    ("closing", "closing", "my", "my",    "my",    "login", "my"),
    "sub_undo":     ("undone", "undone", "my",   "my",    "my",    "login", "my"),
    "packs":        ("show",   "show",   "own",  "login", "login", "login", "empty"),
    "ask_quote":    ("asked",  "asked",  "my",   "my",    "my",    "asked", "my"),
    "ask_order":    ("cant",   "cant",   "my",   "my",    "my",    "cant",  "my"),
    "close_ticket": ("closed", "closed", "my",   "login", "login", "login", "my"),
}
# fmt: on

ASK_CHANGES_MESSAGE = "Matrix: please change the quantities"


@tagged("post_install", "-at_install")
class TestAccessMatrix(PortalAccountHttpCommon):
    """The access matrix of the portal, one sub-test per cell."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.matrix_product = cls.env["product.product"].create(
            {
                "name": "Matrix Service",
                "type": "service",
                "list_price": 1.0,
                "taxes_id": [Command.clear()],
            }
        )
        cls.colleague = cls.env["res.partner"].create(
            {"name": "Bob Acme", "parent_id": cls.customer.id, "email": "bob@acme.test"}
        )
        cls.zyx = cls.env["res.partner"].create(
            {"name": "Zyx Secret Corp", "is_company": True, "email": "zyx@zyx.test"}
        )
        cls.zyx_contact = cls.env["res.partner"].create(
            {"name": "Zed Zyx", "parent_id": cls.zyx.id, "email": "zed@zyx.test"}
        )
        cls.users = {
            "owner": cls.portal_user,
            "colleague": new_test_user(
                cls.env,
                login="mtx_bob",
                groups="base.group_portal",
                partner_id=cls.colleague.id,
            ),
            "other": new_test_user(
                cls.env,
                login="mtx_zed",
                groups="base.group_portal",
                partner_id=cls.zyx_contact.id,
            ),
            "internal": new_test_user(
                cls.env, login="mtx_ivan", groups="base.group_user", name="Ivan Inside"
            ),
        }
        cls.done_stage = cls.env.ref("helpdesk_mgmt.helpdesk_ticket_stage_done")
        cls.close_reason = cls.env["subscription.close.reason"].create(
            {"name": "Matrix reason"}
        )
        zyx_token = cls._create_token(cls.zyx, payment_details="8888")
        cls.docs = {
            "acme": cls._create_documents(cls.customer_contact, 456.78, cls.token),
            "zyx": cls._create_documents(cls.zyx_contact, 987.65, zyx_token),
        }
        # What must never show to someone outside the customer's company.
        cls.markers = {
            "acme": ["Acme Corp", "Ann Acme", "Bob Acme", "456.78", "123.45", "4Q2Z"],
            "zyx": ["Zyx Secret Corp", "Zed Zyx", "987.65", "8888"],
            "globex": ["Globex", "777.77", "9Q7Z"],
        }

    @classmethod
    def _create_documents(cls, partner, amount, token):
        """A quotation, an order, a subscription, an invoice, a ticket and a pack."""
        today = cls.today

        def order_values(**values):
            return {
                "partner_id": partner.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.matrix_product.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                        }
                    )
                ],
                **values,
            }

        SaleOrder = cls.env["sale.order"]
        quote = SaleOrder.create(order_values())
        quote.action_quotation_sent()
        quote.message_subscribe(partner.ids)
        order = SaleOrder.create(order_values())
        order.action_confirm()
        subscription = SaleOrder.create(
            order_values(
                subscription_plan_id=cls.plan.id,
                subscription_start_date=today - timedelta(days=5),
            )
        )
        subscription.action_confirm()
        subscription.write(
            {
                "payment_token_id": token.id,
                "next_invoice_date": today + timedelta(days=25),
            }
        )
        invoice = cls._create_invoice(partner, amount)
        ticket = (
            cls.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": f"Ticket of {partner.name}",
                    "description": "Cannot log in",
                    "partner_id": partner.id,
                }
            )
        )
        pack = cls.env["success.pack"].create(
            {
                "name": f"Pack of {partner.commercial_partner_id.name}",
                "partner_id": partner.commercial_partner_id.id,
                "hours_purchased": 10,
            }
        )
        for document in (quote, order, subscription, invoice, ticket):
            document._portal_ensure_token()
        return {
            "quote": quote,
            "order": order,
            "subscription": subscription,
            "invoice": invoice,
            "ticket": ticket,
            "pack": pack,
            "card": token,
        }

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @staticmethod
    def _marker_re(text):
        # Digits alone could be part of a CSRF token or an asset hash.
        return re.compile(rf"(?<![0-9A-Za-z]){re.escape(text)}(?![0-9A-Za-z])")

    def _text_of(self, document):
        """The text that shows ``document`` on a page."""
        if document._name == "payment.token":
            return document.payment_details
        return document.name

    def _foreign_markers(self, actor, shown_side):
        """Markers of every customer but the one whose data the actor may see."""
        own_side = {"owner": "acme", "colleague": "acme", "other": "zyx"}.get(actor)
        allowed = {own_side, shown_side}
        return [
            marker
            for side, markers in self.markers.items()
            if side not in allowed
            for marker in markers
        ]

    def _login_as(self, actor):
        user = self.users.get(actor)
        self.authenticate(user and user.login, user and user.login)

    def _request(self, method, url):
        if method == "POST":
            data = {
                "csrf_token": http.Request.csrf_token(self),
                "message": ASK_CHANGES_MESSAGE,
                "reason_id": self.close_reason.id,
                f"qty_{self.matrix_product.id}": 2,
            }
            return self.url_open(url, data=data, allow_redirects=False)
        return self.url_open(url, allow_redirects=False)

    def _cell_url(self, path, actor, document):
        url = path.format(
            done_stage=self.done_stage.id,
            **{key: record.id for key, record in self.docs["acme"].items()},
        )
        token = None
        if actor == "wrong_token":
            token = "00000000-0000-4000-8000-000000000000"
        elif actor == "right_token":
            # Lists have no token of their own: the subscription's is tried.
            tokenized = document if "access_token" in document._fields else None
            token = (tokenized or self.docs["acme"]["subscription"]).access_token
        if token:
            url += f"{'&' if '?' in url else '?'}access_token={token}"
        return url

    def _check_cell(self, actor, route_key, code):
        route, doc_key = ROUTES[route_key]
        method, path = route.split(" ", 1)
        document = self.docs["acme"].get(doc_key) or self.docs["acme"]["subscription"]
        own = self.docs["zyx"].get(doc_key) if actor == "other" else document
        url = self._cell_url(path, actor, document)
        response = self._request(method, url)

        expected, must, must_not = EXPECT[code]
        texts = {
            "{doc}": self._text_of(document) if doc_key else None,
            "{own}": self._text_of(own) if doc_key else None,
        }
        if isinstance(expected, int):
            self.assertEqual(response.status_code, expected)
        else:
            self.assertIn(response.status_code, (302, 303))
            location = urlsplit(response.headers["Location"])
            target = location.path + (f"?{location.query}" if location.query else "")
            if expected.endswith("*"):
                self.assertTrue(target.startswith(expected[:-1]), target)
            elif "{" in expected:
                expected = expected.format(
                    doc_url=document.get_portal_url(), doc_id=document.id
                )
                self.assertEqual(target, expected)
            elif expected == "/web/login":
                self.assertTrue(target.startswith("/web/login?redirect="), target)
            else:
                self.assertEqual(target, expected)
        body = response.text
        for text in filter(None, (texts[text] for text in must)):
            self.assertTrue(self._marker_re(text).search(body), f"{text!r} missing")
        for text in filter(None, (texts[text] for text in must_not)):
            self.assertFalse(self._marker_re(text).search(body), f"{text!r} shown")
        shown_side = (
            "acme" if doc_key and code in ("show", "asked", "cant", "closed") else None
        )
        for marker in self._foreign_markers(actor, shown_side):
            self.assertFalse(self._marker_re(marker).search(body), f"{marker!r} leaks")
        self.assertNotIn("Traceback", body)
        # Refused requests change nothing.
        self.env.invalidate_all()
        if route.endswith("/ask_changes") and code != "asked":
            self.assertFalse(document.changes_requested)
        if route.startswith("GET /ticket/close") and code != "closed":
            self.assertNotEqual(document.stage_id, self.done_stage)
        if route.endswith("/close") and code != "closing":
            self.assertFalse(document.subscription_end_date)
        if route.startswith("POST") and route.endswith("/change") and code != "upsell":
            self.assertFalse(document.subscription_quote_ids)

    def _check_actor(self, actor):
        column = ACTORS.index(actor)
        self._login_as(actor)
        for route_key, codes in MATRIX.items():
            code = codes[column]
            with self.subTest(route=ROUTES[route_key][0], actor=actor, expect=code):
                self._check_cell(actor, route_key, code)

    # ------------------------------------------------------------
    # One test per actor (one column of the table each)
    # ------------------------------------------------------------

    def test_matrix_is_complete(self):
        self.assertEqual(set(MATRIX), set(ROUTES))
        self.assertEqual({len(codes) for codes in MATRIX.values()}, {len(ACTORS)})
        self.assertLessEqual(
            {code for codes in MATRIX.values() for code in codes}, set(EXPECT)
        )

    def test_owner(self):
        self._check_actor("owner")

    def test_colleague(self):
        self._check_actor("colleague")

    def test_other_customer(self):
        self._check_actor("other")

    def test_anonymous(self):
        self._check_actor("anonymous")

    def test_wrong_token(self):
        self._check_actor("wrong_token")

    def test_right_token(self):
        self._check_actor("right_token")

    def test_internal_user(self):
        self._check_actor("internal")
