# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Account Portal",
    "summary": "Subscriptions, renewals with a grace period, success packs and "
    "a complete customer account portal under /my",
    "version": "18.0.1.4.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "portal_account contributors",
    "website": "https://github.com/portal-account/portal_account",
    "development_status": "Beta",
    "maintainers": [],
    "depends": [
        "portal",
        "sale_management",
        "account_payment",
        "helpdesk_mgmt",
    ],
    "data": [
        "security/portal_account_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence_data.xml",
        "data/ir_cron.xml",
        "data/mail_template_data.xml",
        "data/mail_template_lifecycle_data.xml",
        "views/subscription_plan_views.xml",
        "views/subscription_close_reason_views.xml",
        "views/sale_order_views.xml",
        "views/hosted_database_views.xml",
        "views/success_pack_views.xml",
        "views/product_template_views.xml",
        "views/payment_token_views.xml",
        "views/helpdesk_ticket_views.xml",
        "views/res_config_settings_views.xml",
        "views/portal_home_portal_templates.xml",
        "views/subscription_portal_templates.xml",
        "views/sale_portal_templates.xml",
        "views/account_portal_templates.xml",
        "views/helpdesk_portal_templates.xml",
        "views/success_pack_portal_templates.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/portal_account_demo.xml",
        "demo/subscription_lifecycle_demo.xml",
    ],
    "assets": {
        "web.assets_frontend": [
            "portal_account/static/src/js/portal_home.js",
            "portal_account/static/src/scss/portal_account.scss",
        ],
        "web.assets_tests": [
            "portal_account/static/src/js/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}
