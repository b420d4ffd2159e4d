# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Hostile input on the addon's routes and forms.

Whatever comes in (ids, pages, sort keys, long or binary strings, HTML, forged
CSRF tokens, foreign ids, the same form twice), the answer is a clean
redirection, a 4xx or a message: never a server error, and no ERROR is logged
(every test fails when one is).
"""

import json
import logging
import re
from urllib.parse import quote, urlencode, urlsplit

from odoo import http
from odoo.tests import tagged

from .common_portal import PortalAccountHttpCommon
from .properties import HealthCheck, given, settings, st

settings.register_profile(
    "portal_account_hostile",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
HOSTILE = settings.get_profile("portal_account_hostile")

# Text a browser can send: any character but lone surrogates (not encodable).
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
huge_ints = st.integers(min_value=-(10**22), max_value=10**22)
SCRIPT = '<script>alert("pwn")</script><img src=x onerror="alert(1)">'
ESCAPED_SCRIPT = "&lt;script&gt;alert("
# SCRIPT as live markup (escaped text does not match).
LIVE_SCRIPT_RE = re.compile(r"<script[^>]*>\s*alert|<img[^>]+onerror", re.IGNORECASE)
LONG_SEARCH = "Zz%_'\\" * 1707  # 10 kB of LIKE wildcards, quotes and escapes
FULLWIDTH_DATE = "\uff12\uff10\uff12\uff16-01-01"  # a date for strptime(), not for SQL
# /my and every list the addon ships to customers (core's, OCA's and its own),
# first page and next one, and the list parameters they take.
LIST_URLS = (
    "/my",
    "/my/quotes",
    "/my/quotes/page/2",
    "/my/orders",
    "/my/orders/page/2",
    "/my/invoices",
    "/my/invoices/page/2",
    "/my/invoices/export",
    "/my/tickets",
    "/my/tickets/page/2",
    "/my/subscriptions",
    "/my/subscriptions/page/2",
    "/my/success_packs",
    "/my/payment_method",
)
LIST_PARAMS = (
    "sortby",
    "filterby",
    "groupby",
    "search_in",
    "search",
    "page",
    "date_begin",
    "date_end",
)
LIST_JUNK = (
    "zzz",
    "",
    "\x00",
    LONG_SEARCH,
    SCRIPT,
    "-1",
    "0",
    "99999999999999999999",
    "9" * 5000,  # more digits than int() converts
    "\u00b2",  # a digit for str.isdigit(), not for int()
    "1e3",
    "2026-13-45",
    FULLWIDTH_DATE,
    "notadate",
)
PAGED_URLS = (
    "/my/quotes",
    "/my/orders",
    "/my/invoices",
    "/my/tickets",
    "/my/subscriptions",
)


def _short(value):
    """``value`` shortened for a test report."""
    return value if len(value) <= 20 else f"{value[:12]}... ({len(value)} chars)"


class _ErrorRecords(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@tagged("post_install", "-at_install")
class TestHostileInput(PortalAccountHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ticket = (
            cls.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": "Printer on fire",
                    "description": "Help",
                    "partner_id": cls.customer_contact.id,
                }
            )
        )
        cls.other_ticket = (
            cls.env["helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": "Globex private ticket",
                    "description": "Secret",
                    "partner_id": cls.other_contact.id,
                }
            )
        )
        cls.done_stage = cls.env.ref("helpdesk_mgmt.helpdesk_ticket_stage_done")

    def setUp(self):
        super().setUp()
        # The test fails if anything logs an ERROR, the HTTP server included.
        # Loggers may be muted by the runner (pytest-odoo logs at CRITICAL):
        # let ERROR records through for the time of the test.
        handler = self._error_handler = _ErrorRecords()
        root = logging.getLogger()
        root.addHandler(handler)
        for name in ("", "odoo", "werkzeug"):
            logger = logging.getLogger(name)
            if logger.level > logging.ERROR or logger.level == logging.NOTSET:
                self.addCleanup(logger.setLevel, logger.level)
                logger.setLevel(logging.ERROR)
        self.addCleanup(self._check_no_error_logged, handler)
        self.addCleanup(root.removeHandler, handler)
        self._login(self.portal_user)

    def _check_no_error_logged(self, handler):
        messages = [record.getMessage()[:200] for record in handler.records]
        self.assertEqual(messages, [], "an ERROR was logged")

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _get(self, url, params=None):
        if params:
            url += f"?{urlencode(params)}"
        return self.url_open(url, allow_redirects=False)

    def _post(self, url, data, csrf=True):
        if csrf:
            data = {"csrf_token": http.Request.csrf_token(self), **data}
        return self.url_open(url, data=data, allow_redirects=False)

    def assertClean(self, response, msg=None):
        """No server error, no traceback shown."""
        self.assertLess(response.status_code, 500, msg)
        self.assertNotIn("Traceback", response.text, msg)

    def _target(self, response):
        location = urlsplit(response.headers["Location"])
        return location.path + (f"?{location.query}" if location.query else "")

    # ------------------------------------------------------------
    # Every list: any value of any list parameter
    # ------------------------------------------------------------

    def _get_clean(self, url, params=None):
        """``url`` answered without a server error, a traceback or an ERROR."""
        records = self._error_handler.records
        logged = len(records)
        response = self._get(url, params=params)
        self.assertClean(response)
        messages = [record.getMessage()[:200] for record in records[logged:]]
        self.assertEqual(messages, [], "an ERROR was logged")
        return response

    def _list_shown(self, url):
        """What the list at ``url`` shows whatever its sort, filter, page or dates."""
        return {
            "/my/quotes": self.quotation.name,
            "/my/orders": self.subscription.name,
            "/my/invoices": self.invoice_unpaid.name,
            "/my/invoices/export": self.invoice_unpaid.name,
            "/my/tickets": self.ticket.name,
            "/my/subscriptions": self.subscription.name,
        }.get(url.removesuffix("/page/2"))

    def test_lists_any_param(self):
        for url in LIST_URLS:
            for param in LIST_PARAMS:
                for value in LIST_JUNK:
                    params = {param: value}
                    # The lists filter on the dates only when both are given.
                    if param == "date_begin":
                        params["date_end"] = "2099-12-31"
                    elif param == "date_end":
                        params["date_begin"] = "2000-01-01"
                    with self.subTest(url=url, param=param, value=_short(value)):
                        response = self._get_clean(url, params)
                        self.assertEqual(response.status_code, 200)
                        # Anything but a search or a date falls back on the
                        # whole list.
                        shown = self._list_shown(url)
                        if shown and param != "search" and value != FULLWIDTH_DATE:
                            self.assertContains(response, shown)

    def test_lists_params_named_like_core_arguments(self):
        # Core passes the URL's parameters on beside arguments of its own.
        provider_args = (
            "company_id",
            "partner_id",
            "amount",
            "currency_id",
            "force_tokenization",
            "is_express_checkout",
            "is_validation",
            "report",
        )
        for url, params in (
            ("/my/quotes", ("quotation_page",)),
            ("/my/orders", ("quotation_page",)),
            ("/my/payment_method", provider_args),
        ):
            for param in params:
                for value in ("", "1", "zzz", str(self.other_customer.id)):
                    with self.subTest(url=url, param=param, value=value):
                        response = self._get_clean(url, {param: value})
                        self.assertEqual(response.status_code, 200)
                        if url == "/my/payment_method":
                            self.assertContains(response, "4Q2Z")
                        else:
                            # Still the list the route names.
                            self.assertContains(response, self._list_shown(url))
                        self.assertNotLeaking(response, "9Q7Z", "Globex")

    def test_lists_any_page_segment(self):
        for url in PAGED_URLS:
            for segment, status in (
                ("0", 200),
                ("1", 200),
                ("-1", 200),  # core's int converter takes signed numbers
                ("2147483648", 200),
                ("99999999999999999999", 200),
                ("\u0661", 301),  # a digit: redirected to /page/1
                ("abc", 404),
                ("1e3", 404),
                ("\u00b2", 404),
                # Left out: core's routing answers a server error, before any
                # controller, to a number of more than 4300 digits (its int
                # converter) and to a NUL (the attachment search behind a 404).
            ):
                with self.subTest(url=url, segment=segment):
                    response = self._get_clean(f"{url}/page/{quote(segment)}")
                    self.assertEqual(response.status_code, status)
                    if status == 200:
                        # Past the last page is the last page: here the first.
                        self.assertContains(response, self._list_shown(url))

    # ------------------------------------------------------------
    # /my/subscriptions: ids, pages, sort keys
    # ------------------------------------------------------------

    def test_subscription_odd_ids(self):
        for segment, expected in (
            ("abc", 404),
            ("1e3", 404),
            ("-1", "/my"),
            ("99999999999999999999", "/my"),
            ("2147483648", "/my"),
            ("0", "/my"),
        ):
            for suffix in ("", "/payment_method"):
                url = f"/my/subscriptions/{segment}{suffix}"
                with self.subTest(url=url):
                    response = self._get(url)
                    self.assertClean(response)
                    if expected == 404:
                        self.assertEqual(response.status_code, 404)
                    else:
                        self.assertEqual(self._target(response), expected)

    @HOSTILE
    @given(order_id=huge_ints)
    def test_subscription_any_id(self, order_id):
        for suffix in ("", "/payment_method"):
            response = self._get(f"/my/subscriptions/{order_id}{suffix}")
            self.assertClean(response)
            if order_id in (self.subscription.id, self.subscription_to_renew.id):
                self.assertEqual(response.status_code, 200)
            else:
                self.assertEqual(self._target(response), "/my")

    @HOSTILE
    @given(segment=any_text.filter(lambda text: "\x00" not in text))
    def test_subscription_any_path_segment(self, segment):
        # (A NUL in a path is a server error in core's 404 fallback, any path.)
        response = self._get(f"/my/subscriptions/{quote(segment, safe='')}")
        self.assertClean(response)
        self.assertIn(response.status_code, (200, 301, 303, 404))

    @HOSTILE
    @given(page=st.one_of(huge_ints, any_text))
    def test_subscription_pages(self, page):
        responses = [self._get("/my/subscriptions", params={"page": page})]
        if isinstance(page, int) and page >= 0:
            responses.append(self._get(f"/my/subscriptions/page/{page}"))
        for response in responses:
            self.assertClean(response)
            # Any page number shows a page of the list: both fit on the first.
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, self.subscription.name)

    @HOSTILE
    @given(
        sortby=st.one_of(st.sampled_from(["date", "name", "state"]), any_text),
        filterby=st.one_of(st.sampled_from(["all", "to_renew"]), any_text),
    )
    def test_subscription_sort_filter(self, sortby, filterby):
        response = self._get(
            "/my/subscriptions", params={"sortby": sortby, "filterby": filterby}
        )
        self.assertClean(response)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.subscription_to_renew.name)
        self.assertNotLeaking(response, self.other_subscription.name)

    # ------------------------------------------------------------
    # /my/invoices and its CSV export: search, keys, dates
    # ------------------------------------------------------------

    def _assert_invoice_pages(self, params):
        for url in ("/my/invoices", "/my/invoices/export"):
            response = self._get(url, params=params)
            self.assertClean(response, url)
            self.assertEqual(response.status_code, 200, url)
            if url.endswith("export"):
                self.assertTrue(response.headers["Content-Type"].startswith("text/csv"))
            # Wildcards in the search never reach another customer's invoices.
            self.assertNotLeaking(response, self.other_invoice.name, "777.77")
        return response

    def test_invoice_odd_search(self):
        for search in (
            LONG_SEARCH,
            "%",
            "_",
            "\\",
            "a\x00b",
            "' OR 1=1 --",
            SCRIPT,
            "\u202e\u0000\ufeff",
        ):
            with self.subTest(search=search[:20]):
                self._assert_invoice_pages({"search": search, "search_in": "all"})
        # The search term is shown back escaped in the search box.
        response = self._get("/my/invoices", params={"search": SCRIPT})
        self.assertNotRegex(response.text, LIVE_SCRIPT_RE)
        self.assertIn("&lt;script&gt;", response.text)

    @HOSTILE
    @given(
        search=any_text,
        search_in=st.one_of(st.sampled_from(["all", "name", "subscription"]), any_text),
        sortby=st.one_of(st.sampled_from(["date", "name"]), any_text),
        filterby=st.one_of(st.sampled_from(["invoices", "bills"]), any_text),
    )
    def test_invoice_any_search(self, search, search_in, sortby, filterby):
        self._assert_invoice_pages(
            {
                "search": search,
                "search_in": search_in,
                "sortby": sortby,
                "filterby": filterby,
            }
        )

    @HOSTILE
    @given(
        date_begin=st.one_of(any_text, st.dates().map(str)),
        date_end=st.one_of(any_text, st.sampled_from(["2099-12-31 23:59:59"])),
        page=st.one_of(huge_ints, any_text),
    )
    def test_invoice_any_dates_and_page(self, date_begin, date_end, page):
        self._assert_invoice_pages(
            {"date_begin": date_begin, "date_end": date_end, "page": page}
        )

    def test_invoice_odd_dates(self):
        for date_begin, date_end in (
            ("garbage", "junk"),
            ("2026-02-30", "2026-13-01"),
            ("2026-01-01 10:00:00 garbage", "2026-12-31"),
            ("0001-01-01", "9999-12-31"),
        ):
            with self.subTest(date_begin=date_begin):
                self._assert_invoice_pages(
                    {"date_begin": date_begin, "date_end": date_end}
                )
        # Valid dates still filter.
        response = self._get(
            "/my/invoices/export",
            params={"date_begin": "2000-01-01", "date_end": "2000-12-31"},
        )
        self.assertNotIn(self.invoice_unpaid.name, response.text)

    # ------------------------------------------------------------
    # Change Payment Method: token ids, transaction ids, posted twice
    # ------------------------------------------------------------

    @HOSTILE
    @given(
        token_id=st.one_of(
            huge_ints,
            any_text,
            st.sampled_from(["other_customer", "archived", " 1", "1.0", "0x1"]),
        )
    )
    def test_payment_method_any_token(self, token_id):
        if token_id == "other_customer":
            token_id = self.other_token.id
        elif token_id == "archived":
            archived = self._create_token(self.customer, payment_details="3333")
            archived.active = False
            token_id = archived.id
        url = f"/my/subscriptions/{self.subscription.id}/payment_method"
        response = self._post(url, {"token_id": token_id})
        self.assertClean(response)
        try:
            chosen = int(token_id)
        except ValueError:
            chosen = None
        if chosen == self.token.id:
            self.assertEqual(
                self._target(response),
                f"/my/subscriptions/{self.subscription.id}?message=payment_method_updated",
            )
        else:
            self.assertEqual(self._target(response), f"{url}?error=invalid_token")
        self.assertEqual(self.subscription.payment_token_id, self.token)

    @HOSTILE
    @given(tx_id=st.one_of(huge_ints, any_text), error=any_text)
    def test_payment_method_page_any_params(self, tx_id, error):
        response = self._get(
            f"/my/subscriptions/{self.subscription.id}/payment_method",
            params={"tx_id": tx_id, "error": error},
        )
        self.assertClean(response)
        self.assertEqual(response.status_code, 200)
        self.assertNotLeaking(response, "9Q7Z", self.other_subscription.name)

    def test_payment_method_posted_twice(self):
        subscription = self.subscription_to_renew
        url = f"/my/subscriptions/{subscription.id}/payment_method"
        first = self._post(url, {"token_id": self.token.id})
        second = self._post(url, {"token_id": self.token.id})
        self.assertEqual(
            self._target(first),
            f"/my/subscriptions/{subscription.id}?message=payment_method_charged",
        )
        # The second post finds the renewal paid: it only confirms the method.
        self.assertEqual(
            self._target(second),
            f"/my/subscriptions/{subscription.id}?message=payment_method_updated",
        )
        invoices = subscription.subscription_invoice_ids
        self.assertEqual(len(invoices), 1)
        transactions = self.env["payment.transaction"].search(
            [("invoice_ids", "in", invoices.ids)]
        )
        self.assertEqual(transactions.mapped("state"), ["done"])
        self.assertEqual(subscription.subscription_state, "in_progress")

    # ------------------------------------------------------------
    # CSRF
    # ------------------------------------------------------------

    def test_csrf_missing_or_forged(self):
        quote_url = f"/my/orders/{self.quotation.id}/ask_changes"
        method_url = f"/my/subscriptions/{self.subscription.id}/payment_method"
        new_token = self._create_token(self.customer, payment_details="5555")
        own_csrf = http.Request.csrf_token(self)
        expired_csrf = own_csrf.split("o")[0] + "o1000000000"
        # A valid token of another session.
        self._login(self.other_portal_user)
        foreign_csrf = http.Request.csrf_token(self)
        self._login(self.portal_user)
        subscription_url = f"/my/subscriptions/{self.subscription.id}"
        reason = self.env["subscription.close.reason"].create({"name": "Forged"})
        forms = [
            (quote_url, {"message": "Forged"}),
            (method_url, {"token_id": new_token.id}),
            ("/submitted/ticket", {"subject": "Forged ticket", "description": "x"}),
            (f"{subscription_url}/close", {"reason_id": reason.id}),
            (f"{subscription_url}/close/undo", {"undo": "1"}),
            (f"{subscription_url}/change", {f"qty_{self.user_product.id}": 9}),
        ]
        self.subscription_to_renew.write(
            {"subscription_end_date": self.today, "close_reason_id": reason.id}
        )
        forms.append(
            (
                f"/my/subscriptions/{self.subscription_to_renew.id}/close/undo",
                {"undo": "1"},
            )
        )
        tickets = self.env["helpdesk.ticket"].sudo().search_count([])
        for csrf in (
            None,
            "",
            "forged",
            "0" * 40 + "o9999999999",
            expired_csrf,
            foreign_csrf,
        ):
            for url, data in forms:
                with self.subTest(url=url, csrf=csrf):
                    if csrf is not None:
                        data = {**data, "csrf_token": csrf}
                    response = self._post(url, data, csrf=False)
                    self.assertEqual(response.status_code, 400)
        # A GET does not reach a form's handler either.
        self.assertEqual(self._get(quote_url).status_code, 405)
        self.env.invalidate_all()
        self.assertFalse(self.quotation.changes_requested)
        self.assertEqual(self.subscription.payment_token_id, self.token)
        self.assertEqual(self.env["helpdesk.ticket"].sudo().search_count([]), tickets)
        self.assertFalse(self.subscription.subscription_end_date)
        self.assertFalse(self.subscription.subscription_quote_ids)
        self.assertEqual(self.subscription_to_renew.close_reason_id, reason)

    # ------------------------------------------------------------
    # Subscription self-service: any quantity, any reason
    # ------------------------------------------------------------

    @HOSTILE
    @given(quantity=any_text, product_id=st.one_of(any_text, huge_ints.map(str)))
    def test_subscription_change_any_quantity(self, quantity, product_id):
        url = f"/my/subscriptions/{self.subscription.id}/change"
        for key in (f"qty_{self.user_product.id}", f"qty_{product_id}"):
            response = self._post(url, {key: quantity})
            self.assertClean(response)
            self.assertIn(response.status_code, (302, 303))
            self.assertClean(self._get(url, {key: quantity}))

    @HOSTILE
    @given(reason_id=st.one_of(any_text, huge_ints.map(str)), comment=any_text)
    def test_subscription_close_any_reason(self, reason_id, comment):
        url = f"/my/subscriptions/{self.subscription.id}/close"
        reasons = self.env["subscription.close.reason"].search([])
        response = self._post(url, {"reason_id": reason_id, "comment": comment})
        self.assertClean(response)
        try:
            as_int = int(reason_id)
        except ValueError:
            as_int = None
        if as_int in reasons.ids:
            # A demo reason's id: closing, then undone for the next example.
            self.assertIn("message=closing", self._target(response))
            self._post(f"{url}/undo", {})
        else:
            self.assertIn("message=close_invalid_reason", self._target(response))
        self.env.invalidate_all()
        self.assertFalse(self.subscription.subscription_end_date)

    # ------------------------------------------------------------
    # Ask changes: HTML, odd messages, posted twice
    # ------------------------------------------------------------

    def _customer_messages(self, order):
        return order.message_ids.filtered(
            lambda message: message.message_type == "comment"
        )

    def test_ask_changes_script_is_escaped(self):
        url = f"/my/orders/{self.quotation.id}/ask_changes"
        response = self._post(url, {"message": SCRIPT})
        self.assertIn("message=ask_changes_ok", self._target(response))
        message = self._customer_messages(self.quotation)[:1]
        activity = self.quotation.activity_ids
        for stored in (message.body, activity.note):
            self.assertIn(ESCAPED_SCRIPT, stored)
            self.assertNotIn("<script", stored)
            self.assertNotIn("<img", stored)
        # As the portal chatter fetches it, and in the quotation's page.
        fetched = self.make_jsonrpc_request(
            "/mail/chatter_fetch",
            {"thread_model": "sale.order", "thread_id": self.quotation.id},
        )
        fetched = json.dumps(fetched)
        self.assertIn(ESCAPED_SCRIPT, fetched)
        self.assertNotIn("<script", fetched)
        page = self.url_open(self.quotation.get_portal_url())
        self.assertNotRegex(page.text, LIVE_SCRIPT_RE)

    @HOSTILE
    @given(message=st.one_of(any_text, st.sampled_from([" \n\t", "x" * 10240])))
    def test_ask_changes_any_message(self, message):
        url = f"/my/orders/{self.quotation.id}/ask_changes"
        response = self._post(url, {"message": message})
        self.assertClean(response)
        target = self._target(response)
        if message.replace("\x00", "").strip():
            self.assertIn("message=ask_changes_ok", target)
        else:
            self.assertIn("message=ask_changes_", target)

    def test_ask_changes_odd_order_ids(self):
        for order_id in ("99999999999999999999", "0", str(self.other_quotation.id)):
            with self.subTest(order_id=order_id):
                response = self._post(
                    f"/my/orders/{order_id}/ask_changes", {"message": "Hello"}
                )
                self.assertEqual(self._target(response), "/my")
        self.assertEqual(
            self._post("/my/orders/abc/ask_changes", {"message": "x"}).status_code, 404
        )
        self.assertFalse(self.other_quotation.changes_requested)

    def test_ask_changes_posted_twice(self):
        """The same request posted twice is one request; a new one is a message."""
        url = f"/my/orders/{self.quotation.id}/ask_changes"
        for _attempt in range(2):
            response = self._post(url, {"message": "Two more users please"})
            self.assertIn("message=ask_changes_ok", self._target(response))
        self.assertEqual(len(self._customer_messages(self.quotation)), 1)
        self.assertEqual(len(self.quotation.activity_ids), 1)
        # Something new to add: one more message, still one thing to do.
        self._post(url, {"message": "And the Inventory app"})
        self.assertEqual(len(self._customer_messages(self.quotation)), 2)
        self.assertEqual(len(self.quotation.activity_ids), 1)
        # Another contact of the customer asking is another to-do.
        self._login(None)
        self._post(
            f"{url}?access_token={self.quotation.access_token}",
            {"message": "Two more users please"},
        )
        self.assertEqual(len(self.quotation.activity_ids), 2)

    # ------------------------------------------------------------
    # Tickets: HTML, odd fields, closing
    # ------------------------------------------------------------

    def _submit_ticket(self, **values):
        data = {"subject": "Hostile ticket", "description": "x", **values}
        response = self._post("/submitted/ticket", data)
        self.assertClean(response)
        if response.status_code in (400, 403):
            # A category the customer may not use: refused by OCA's own checks.
            return self.env["helpdesk.ticket"]
        self.assertIn(response.status_code, (302, 303))
        ticket_id = int(re.fullmatch(r"/my/ticket/(\d+)", self._target(response))[1])
        return self.env["helpdesk.ticket"].sudo().browse(ticket_id)

    def test_ticket_script_is_escaped(self):
        ticket = self._submit_ticket(
            subject=SCRIPT, description=SCRIPT, subscription_id=self.subscription.id
        )
        self.assertEqual(ticket.subscription_id, self.subscription)
        self.assertNotIn("<script", ticket.description)
        self.assertIn("&lt;script&gt;", ticket.description)
        # A chatter message in HTML is stored sanitized.
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "helpdesk.ticket",
                "thread_id": ticket.id,
                "post_data": {
                    "body": SCRIPT + "<b>bold</b>",
                    "message_type": "comment",
                },
            },
        )
        posted = ticket.message_ids.filtered(lambda m: "bold" in (m.body or ""))
        self.assertEqual(len(posted), 1)
        self.assertNotIn("<script", posted.body)
        self.assertNotIn("onerror", posted.body)
        for url in (
            f"/my/ticket/{ticket.id}",
            "/my/tickets",
            f"/my/subscriptions/{self.subscription.id}",
        ):
            with self.subTest(url=url):
                page = self.url_open(url)
                self.assertEqual(page.status_code, 200)
                self.assertIn("&lt;script&gt;alert(", page.text)
                self.assertNotRegex(page.text, LIVE_SCRIPT_RE)

    @HOSTILE
    @given(
        subject=any_text,
        subscription_id=st.one_of(huge_ints, any_text),
        category=st.one_of(huge_ints, any_text),
    )
    def test_ticket_any_fields(self, subject, subscription_id, category):
        tickets = self.env["helpdesk.ticket"].sudo().search_count([])
        ticket = self._submit_ticket(
            subject=subject, subscription_id=subscription_id, category=category
        )
        self.assertEqual(
            self.env["helpdesk.ticket"].sudo().search_count([]), tickets + len(ticket)
        )
        # Only a subscription of the customer's own can be linked.
        self.assertIn(
            ticket.subscription_id.id,
            (False, self.subscription.id, self.subscription_to_renew.id),
        )

    @HOSTILE
    @given(subscription_id=st.one_of(huge_ints, any_text))
    def test_new_ticket_any_subscription(self, subscription_id):
        response = self._get("/new/ticket", params={"subscription_id": subscription_id})
        self.assertClean(response)
        self.assertEqual(response.status_code, 200)
        self.assertNotLeaking(response, self.other_subscription.name)

    def test_ticket_close_odd_requests(self):
        for params in (
            {},
            {"ticket_id": "abc", "stage_id": self.done_stage.id},
            {"ticket_id": "99999999999999999999", "stage_id": self.done_stage.id},
            {"ticket_id": "-1", "stage_id": self.done_stage.id},
            {"ticket_id": self.other_ticket.id, "stage_id": self.done_stage.id},
        ):
            with self.subTest(params=params):
                response = self._get("/ticket/close", params=params)
                self.assertEqual(self._target(response), "/my")
        self.assertNotEqual(self.other_ticket.stage_id, self.done_stage)
        # An odd stage leaves the customer's own ticket as it was.
        stage = self.ticket.stage_id
        for stage_id in ("abc", "99999999999999999999", ""):
            response = self._get(
                "/ticket/close",
                params={"ticket_id": self.ticket.id, "stage_id": stage_id},
            )
            self.assertEqual(self._target(response), f"/my/ticket/{self.ticket.id}")
        self.assertEqual(self.ticket.stage_id, stage)
        response = self._get(
            "/ticket/close",
            params={"ticket_id": self.ticket.id, "stage_id": self.done_stage.id},
        )
        self.assertEqual(self._target(response), f"/my/ticket/{self.ticket.id}")
        self.env.invalidate_all()
        self.assertEqual(self.ticket.stage_id, self.done_stage)

    # ------------------------------------------------------------
    # The rest of the addon's pages
    # ------------------------------------------------------------

    @HOSTILE
    @given(junk=st.dictionaries(any_text.filter(bool), any_text, max_size=3))
    def test_pages_ignore_unknown_params(self, junk):
        for url in (
            "/my",
            "/my/success_packs",
            f"/my/subscriptions/{self.subscription.id}",
        ):
            response = self._get(url, params=junk)
            self.assertClean(response, url)
            self.assertEqual(response.status_code, 200, url)

    def test_subscription_page_message_param_is_not_rendered(self):
        response = self._get(
            f"/my/subscriptions/{self.subscription.id}", params={"message": SCRIPT}
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotRegex(response.text, LIVE_SCRIPT_RE)
        self.assertNotIn("&lt;script&gt;", response.text)
