# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request
from odoo.osv import expression

from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.addons.sale.controllers import portal as sale_portal

from .portal_list import PortalListMixin

COMMENT_MAX_LENGTH = 2000
QUANTITY_MAX = 10000
CHANGE_ERRORS = ("invalid_product", "invalid_quantity", "too_many", "refused")


class SubscriptionPortal(PortalListMixin, sale_portal.CustomerPortal):
    """Subscriptions under /my: list, detail and payment method."""

    # The arguments of payment.provider's _get_compatible_providers().
    _payment_method_reserved_params = (
        "company_id",
        "partner_id",
        "amount",
        "currency_id",
        "force_tokenization",
        "is_express_checkout",
        "is_validation",
        "report",
    )

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "subscription_count" in counters:
            SaleOrder = request.env["sale.order"]
            values["subscription_count"] = (
                SaleOrder.search_count(
                    self._prepare_subscriptions_domain(request.env.user.partner_id)
                )
                if SaleOrder.has_access("read")
                else 0
            )
        return values

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _prepare_subscriptions_domain(self, partner):
        return [
            ("message_partner_ids", "child_of", [partner.commercial_partner_id.id]),
            ("is_subscription", "=", True),
            (
                "subscription_state",
                "in",
                ("in_progress", "to_renew", "paused", "closed"),
            ),
        ]

    def _get_subscription_searchbar_sortings(self):
        return {
            "date": {
                "label": request.env._("Start Date"),
                "order": "subscription_start_date desc, id desc",
            },
            "name": {"label": request.env._("Reference"), "order": "name asc, id asc"},
            "next_invoice": {
                "label": request.env._("Next Billing Date"),
                "order": "next_invoice_date asc, id asc",
            },
            "state": {
                "label": request.env._("Status"),
                "order": "subscription_state asc, id desc",
            },
        }

    def _get_subscription_searchbar_filters(self):
        return {
            "all": {"label": request.env._("All"), "domain": []},
            "to_renew": {
                "label": request.env._("To Renew"),
                "domain": [("subscription_state", "=", "to_renew")],
            },
            "in_progress": {
                "label": request.env._("In Progress"),
                "domain": [("subscription_state", "=", "in_progress")],
            },
            "paused": {
                "label": request.env._("Paused"),
                "domain": [("subscription_state", "=", "paused")],
            },
            "closed": {
                "label": request.env._("Closed"),
                "domain": [("subscription_state", "=", "closed")],
            },
        }

    def _prepare_subscriptions_portal_rendering_values(
        self, page=1, sortby=None, filterby=None, **kwargs
    ):
        SaleOrder = request.env["sale.order"]
        partner = request.env.user.partner_id
        values = self._prepare_portal_layout_values()

        searchbar_sortings = self._get_subscription_searchbar_sortings()
        sortby = self._portal_key(sortby, searchbar_sortings, "date")
        searchbar_filters = self._get_subscription_searchbar_filters()
        filterby = self._portal_key(filterby, searchbar_filters, "all")

        url = "/my/subscriptions"
        domain = (
            self._prepare_subscriptions_domain(partner)
            + searchbar_filters[filterby]["domain"]
        )
        has_access = SaleOrder.has_access("read")
        pager_values = portal_pager(
            url=url,
            total=SaleOrder.search_count(domain) if has_access else 0,
            page=self._portal_page(page),
            step=self._items_per_page,
            url_args={"sortby": sortby, "filterby": filterby},
        )
        subscriptions = (
            SaleOrder.search(
                domain,
                order=searchbar_sortings[sortby]["order"],
                limit=self._items_per_page,
                offset=pager_values["offset"],
            )
            if has_access
            else SaleOrder
        )
        values.update(
            {
                # Read as superuser for the rendering only, as core's quote list
                # does: the search above applied the customer's own rights.
                "subscriptions": subscriptions.sudo(),
                "page_name": "subscription",
                "pager": pager_values,
                "default_url": url,
                "searchbar_sortings": searchbar_sortings,
                "sortby": sortby,
                "searchbar_filters": searchbar_filters,
                "filterby": filterby,
            }
        )
        return values

    def _subscription_check_access(self, order_id, access_token=None):
        """The subscription as superuser; raises like ``_document_check_access``."""
        order_sudo = self._document_check_access(
            "sale.order", order_id, access_token=access_token
        )
        if not order_sudo.is_subscription or order_sudo.subscription_state == "draft":
            raise MissingError(request.env._("This subscription does not exist."))
        return order_sudo

    def _get_subscription_valid_tokens(self, order_sudo):
        """The tokens the current user may put on the subscription.

        The subscription says which cards may pay it; of those, a contact sees
        their own and their company's, as on core's /my/payment_method.
        Searched as superuser because the company's tokens are not readable by
        its contacts: the domain is the ownership check.
        """
        partner = request.env.user.partner_id
        if request.env.user._is_public() or (
            partner.commercial_partner_id != order_sudo.partner_id.commercial_partner_id
        ):
            return request.env["payment.token"]
        today = fields.Date.context_today(order_sudo)
        return (
            request.env["payment.token"]
            .sudo()
            .search(
                expression.AND(
                    [
                        order_sudo._subscription_payment_token_domain(today),
                        [
                            (
                                "partner_id",
                                "in",
                                [partner.id, partner.commercial_partner_id.id],
                            )
                        ],
                    ]
                ),
                order="id desc",
            )
        )

    def _subscription_get_page_view_values(self, order_sudo, access_token, **kwargs):
        values = {
            "page_name": "subscription",
            "subscription": order_sudo,
            "subscription_lines": order_sudo.order_line.filtered(
                lambda line: not line.display_type
            ),
            "subscription_invoices": order_sudo.subscription_invoice_ids.filtered(
                lambda move: move.state == "posted"
            ).sorted(
                lambda move: (move.invoice_date or move.date, move.id), reverse=True
            ),
            "subscription_quotes": order_sudo.subscription_quote_ids.filtered(
                lambda order: order.state in ("sent", "sale")
            ),
            "message": kwargs.get("message"),
            "report_type": "html",
            "res_company": order_sudo.company_id,
            "backend_url": f"/odoo/action-{order_sudo._get_portal_return_action().id}"
            f"/{order_sudo.id}",
            "can_close": order_sudo._subscription_can_close(),
            "can_change": order_sudo._subscription_can_change(),
            "close_reasons": (
                self._get_subscription_close_reasons(order_sudo)
                if order_sudo._subscription_can_close()
                else request.env["subscription.close.reason"]
            ),
            "close_end_date": order_sudo._subscription_close_end_date(),
            "close_closes_now": order_sudo._subscription_close_end_date()
            <= fields.Date.context_today(order_sudo),
            "token_expires_before_renewal": (
                order_sudo.payment_token_expires_before_renewal
            ),
        }
        return self._get_page_view_values(
            order_sudo,
            access_token,
            values,
            "my_subscriptions_history",
            False,
            **kwargs,
        )

    # ------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------

    @http.route()
    def payment_method(self, **kwargs):
        # Core passes the URL's parameters on to the provider search, beside
        # the arguments it sets itself: a parameter of the same name would be
        # given twice, or taken for an id. The page is a validation for the
        # current customer, whatever the URL says.
        for key in self._payment_method_reserved_params:
            kwargs.pop(key, None)
        return super().payment_method(**kwargs)

    @http.route(
        ["/my/subscriptions", "/my/subscriptions/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_subscriptions(self, **kwargs):
        values = self._prepare_subscriptions_portal_rendering_values(**kwargs)
        request.session["my_subscriptions_history"] = values["subscriptions"].ids[:100]
        return request.render("portal_account.portal_my_subscriptions", values)

    @http.route(
        ["/my/subscriptions/<int:order_id>"], type="http", auth="public", website=True
    )
    def portal_subscription_page(self, order_id, access_token=None, **kwargs):
        try:
            order_sudo = self._subscription_check_access(order_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        values = self._subscription_get_page_view_values(
            order_sudo, access_token, **kwargs
        )
        return request.render("portal_account.portal_subscription_page", values)

    @http.route(
        ["/my/subscriptions/<int:order_id>/payment_method"],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        website=True,
    )
    def portal_subscription_payment_method(
        self, order_id, access_token=None, token_id=None, tx_id=None, **kwargs
    ):
        try:
            order_sudo = self._subscription_check_access(order_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        url = f"/my/subscriptions/{order_sudo.id}/payment_method"
        if request.env.user._is_public():
            # Payment methods belong to a customer account: a shared link is not
            # enough to see or save cards.
            return request.redirect(f"/web/login?redirect={url}")
        if order_sudo.subscription_state == "closed":
            return request.redirect(
                f"/my/subscriptions/{order_sudo.id}?message=subscription_closed"
            )
        if request.httprequest.method == "POST":
            return self._subscription_assign_token(order_sudo, token_id)

        # Reuse core's /my/payment_method context (providers, methods and access
        # token of a validation payment) for the "add a card" form.
        response = self.payment_method()
        valid_tokens_sudo = self._get_subscription_valid_tokens(order_sudo)
        new_token_sudo = self._get_subscription_new_token(tx_id, valid_tokens_sudo)
        selected_token_sudo = (
            new_token_sudo
            or (order_sudo.payment_token_id & valid_tokens_sudo)
            or valid_tokens_sudo[:1]
        )
        response.qcontext.update(
            {
                "page_name": "subscription_payment_method",
                "subscription": order_sudo,
                "valid_tokens_sudo": valid_tokens_sudo,
                "selected_token_sudo": selected_token_sudo,
                "new_token_sudo": new_token_sudo,
                "error": kwargs.get("error"),
                # The form adds cards only: existing ones are listed above it.
                "tokens_sudo": request.env["payment.token"],
                "landing_route": url,
            }
        )
        response.template = "portal_account.portal_subscription_payment_method_page"
        return response

    def _get_subscription_new_token(self, tx_id, valid_tokens_sudo):
        """The card just saved through the validation payment ``tx_id``, if any."""
        tx_id = self._cast_as_int(tx_id)
        if not tx_id or not valid_tokens_sudo:
            return request.env["payment.token"]
        return valid_tokens_sudo.filtered(
            lambda token: tx_id in token.transaction_ids.ids
        )[:1]

    def _subscription_assign_token(self, order_sudo, token_id):
        url = f"/my/subscriptions/{order_sudo.id}/payment_method"
        token_id = self._cast_as_int(token_id)
        token_sudo = self._get_subscription_valid_tokens(order_sudo).filtered(
            lambda token: token.id == token_id
        )
        if not token_sudo:
            return request.redirect(f"{url}?error=invalid_token")
        was_to_renew = order_sudo.subscription_state == "to_renew"
        try:
            with request.env.cr.savepoint():
                order_sudo._subscription_set_payment_token(token_sudo)
        except (UserError, ValidationError):
            return request.redirect(f"{url}?error=refused_token")
        if not was_to_renew:
            message = "payment_method_updated"
        elif order_sudo.subscription_state == "in_progress":
            message = "payment_method_charged"
        else:
            message = "payment_method_not_charged"
        return request.redirect(f"/my/subscriptions/{order_sudo.id}?message={message}")

    # ------------------------------------------------------------
    # Self-service: close, undo, change quantities
    # ------------------------------------------------------------

    def _subscription_self_service_access(self, order_id, access_token=None):
        """The subscription as superuser, or the redirection refusing the request.

        Closing and changing a subscription belong to the customer's account:
        a contact of the customer's company, logged in. A shared link is not
        enough.
        """
        try:
            order_sudo = self._subscription_check_access(order_id, access_token)
        except (AccessError, MissingError):
            return None, request.redirect("/my")
        if request.env.user._is_public():
            return None, request.redirect(
                f"/web/login?redirect=/my/subscriptions/{order_sudo.id}"
            )
        partner = request.env.user.partner_id
        if partner.commercial_partner_id != order_sudo.partner_id.commercial_partner_id:
            return None, request.redirect("/my")
        return order_sudo, None

    def _subscription_redirect(self, order_sudo, message):
        return request.redirect(f"/my/subscriptions/{order_sudo.id}?message={message}")

    def _get_subscription_close_reasons(self, order_sudo):
        """The reasons the customer may choose; read as superuser, filtered."""
        Reason = request.env["subscription.close.reason"].sudo()
        return Reason.search(Reason._get_portal_domain(order_sudo.company_id))

    @http.route(
        ["/my/subscriptions/<int:order_id>/close"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_subscription_close(
        self, order_id, access_token=None, reason_id=None, comment=None, **kwargs
    ):
        order_sudo, refusal = self._subscription_self_service_access(
            order_id, access_token
        )
        if refusal:
            return refusal
        if order_sudo.subscription_end_date and order_sudo.subscription_state in (
            "in_progress",
            "to_renew",
        ):
            # The same form posted again: closing already.
            return self._subscription_redirect(order_sudo, "closing")
        if not order_sudo._subscription_can_close():
            return self._subscription_redirect(order_sudo, "close_not_allowed")
        reason_id = self._cast_as_int(reason_id)
        reason_sudo = self._get_subscription_close_reasons(order_sudo).filtered(
            lambda reason: reason.id == reason_id
        )
        if not reason_sudo:
            return self._subscription_redirect(order_sudo, "close_invalid_reason")
        comment = self._portal_text(comment if isinstance(comment, str) else "")
        order_sudo._subscription_request_close(
            reason_sudo,
            comment=comment[:COMMENT_MAX_LENGTH],
            author=request.env.user.partner_id,
        )
        if order_sudo.subscription_state == "closed":
            return self._subscription_redirect(order_sudo, "closed_now")
        return self._subscription_redirect(order_sudo, "closing")

    @http.route(
        ["/my/subscriptions/<int:order_id>/close/undo"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_subscription_close_undo(self, order_id, access_token=None, **kwargs):
        order_sudo, refusal = self._subscription_self_service_access(
            order_id, access_token
        )
        if refusal:
            return refusal
        if order_sudo._subscription_undo_close(author=request.env.user.partner_id):
            return self._subscription_redirect(order_sudo, "close_undone")
        if order_sudo.subscription_state == "closed":
            return self._subscription_redirect(order_sudo, "subscription_closed")
        # Posted again: there is no closing left to undo.
        return self._subscription_redirect(order_sudo, "close_undone")

    def _subscription_parse_quantities(self, order_sudo, params):
        """The new quantities of the form {product: int}, or an error code.

        Only whole, non-negative numbers of seats, of the products the customer
        may change on this subscription; an empty field leaves its line as it is.
        """
        allowed = {
            product.id: product
            for product in order_sudo._subscription_change_products()
        }
        quantities = {}
        for key, value in params.items():
            if not key.startswith("qty_"):
                continue
            product = allowed.get(self._cast_as_int(key[4:]))
            if not product:
                return None, "invalid_product"
            value = value.strip() if isinstance(value, str) else ""
            if not value:
                continue
            if not (value.isascii() and value.isdigit()):
                return None, "invalid_quantity"
            if len(value) > 6 or int(value) > QUANTITY_MAX:
                return None, "too_many"
            quantities[product] = int(value)
        return quantities, None

    @http.route(
        ["/my/subscriptions/<int:order_id>/change"],
        type="http",
        auth="public",
        methods=["GET", "POST"],
        website=True,
    )
    def portal_subscription_change(self, order_id, access_token=None, **kwargs):
        order_sudo, refusal = self._subscription_self_service_access(
            order_id, access_token
        )
        if refusal:
            return refusal
        if not order_sudo._subscription_can_change():
            return self._subscription_redirect(order_sudo, "change_not_allowed")
        url = f"/my/subscriptions/{order_sudo.id}/change"
        quantities, error = self._subscription_parse_quantities(order_sudo, kwargs)
        if request.httprequest.method == "POST":
            if error:
                return request.redirect(f"{url}?error={error}")
            try:
                with request.env.cr.savepoint():
                    quote_sudo = order_sudo._subscription_apply_change(quantities)
            except (UserError, ValidationError):
                return request.redirect(f"{url}?error=refused")
            if quote_sudo:
                return request.redirect(quote_sudo.get_portal_url())
            return self._subscription_redirect(order_sudo, "change_saved")

        error = error or self._portal_key(kwargs.get("error"), CHANGE_ERRORS)
        change = order_sudo._subscription_prepare_change(quantities or {})
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "subscription_change",
                "subscription": order_sudo,
                "change": change,
                "error": error,
                "reviewed": bool(quantities) and not error,
                "changed": any(
                    row["new_quantity"]
                    != (row["quantity"] if row["pending"] is None else row["pending"])
                    for row in change["rows"]
                ),
            }
        )
        return request.render("portal_account.portal_subscription_change_page", values)
