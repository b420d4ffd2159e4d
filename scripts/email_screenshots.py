#!/usr/bin/env python3
"""Render the renewal emails of the demo data and take their screenshots.

Renders, in the demo database, the renewal notice of the demo yearly
subscription and the decline email of a demo subscription whose card was
declined, as the customer receives them, and saves PNGs of them beside the
portal screenshots (``portal_account/static/description/screenshots/``)::

    python3 scripts/email_screenshots.py -c .local/odoo.conf -d shot_demo

Needs the database of ``scripts/screenshots.py`` (portal_account and
payment_demo installed with demo data) and the same Chromium and Python
packages.
"""

import argparse
import html
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from screenshots import OUT_DIR, Chromium, save_png  # noqa: E402

EMAILS = (
    (
        "19_email_renewal_notice",
        "portal_account.mail_template_subscription_renewal_notice",
        "portal_account.sale_order_subscription_card_expiring",
    ),
    (
        "20_email_payment_declined",
        "portal_account.mail_template_subscription_declined",
        "portal_account.sale_order_subscription_dunning_retry_scheduled",
    ),
)
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ font-family: Arial, sans-serif; margin: 24px; color: #222; }}
.headers {{ border-bottom: 1px solid #ddd; padding-bottom: 12px; margin-bottom: 16px; }}
.headers div {{ margin: 2px 0; }}
</style></head><body><div class="headers">
<div><b>From:</b> {email_from}</div><div><b>To:</b> {email_to}</div>
<div><b>Subject:</b> {subject}</div></div>{body}</body></html>"""


def render_emails(config, database):
    """Return ``(name, page)`` for each email, rendered in ``database``."""
    import odoo
    from odoo.tools import config as odoo_config

    odoo_config.parse_config(["-c", config, "-d", database])
    registry = odoo.modules.registry.Registry(database)
    pages = []
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        for name, template_xmlid, record_xmlid in EMAILS:
            template = env.ref(template_xmlid)
            record = env.ref(record_xmlid)
            values = {
                field: template._render_field(field, record.ids, compute_lang=True)[
                    record.id
                ]
                for field in ("subject", "email_from", "body_html")
            }
            pages.append(
                (
                    name,
                    PAGE.format(
                        email_from=html.escape(values["email_from"] or ""),
                        email_to=html.escape(record.partner_id.email_formatted or ""),
                        subject=html.escape(values["subject"] or ""),
                        body=values["body_html"],
                    ),
                )
            )
        # Rendering may make the invoices' access tokens: nothing to keep.
        cr.rollback()
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo config file")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument(
        "--chromium",
        default=next(
            filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None
        ),
    )
    args = parser.parse_args()
    pages = render_emails(args.config, args.database)
    folder = tempfile.mkdtemp(prefix="portal_emails_")
    browser = Chromium(args.chromium)
    try:
        for name, page in pages:
            path = os.path.join(folder, f"{name}.html")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(page)
            browser.navigate(f"file://{path}", 760, 200)
            size = save_png(
                browser.screenshot(760), os.path.join(OUT_DIR, f"{name}.png")
            )
            print(f"{name}.png: {size // 1024} kB")
    finally:
        browser.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
