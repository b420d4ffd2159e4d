# Copyright 2026 portal_account contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Account Portal - Job Queue",
    "summary": "Run the subscription renewals as queue jobs, on any number of "
    "Odoo servers",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "portal_account contributors",
    "website": "https://github.com/portal-account/portal_account",
    "development_status": "Beta",
    "maintainers": [],
    "depends": [
        "portal_account",
        "queue_job",
    ],
    "data": [
        "data/queue_job_channel_data.xml",
        "data/queue_job_function_data.xml",
    ],
    "installable": True,
    "auto_install": True,
    "application": False,
}
