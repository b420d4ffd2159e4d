/** @odoo-module **/

import { registry } from "@web/core/registry";

// These tours rely on the data created by tests/test_tour_portal.py.

registry.category("web_tour.tours").add("portal_account_quote_pay", {
    url: "/my/quotes",
    steps: () => [
        {
            content: "Open the quotation",
            trigger: "a:contains(/^PRT Quote$/)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Accept and pay",
            trigger: "#o_sale_portal_paynow",
            run: "click",
        },
        {
            content: "Pay with the saved card",
            trigger: '#modalaccept input[name="o_payment_radio"][data-payment-option-type="token"]',
            run: "click",
        },
        {
            content: "Pay",
            trigger: '#modalaccept button[name="o_payment_submit_button"]:enabled',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back on the order, now confirmed",
            trigger: ".o_portal_submenu:contains(Sales Orders)",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_ask_changes", {
    url: "/my/quotes",
    steps: () => [
        {
            content: "Open the quotation",
            trigger: "a:contains(/^PRT Quote$/)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Ask for changes",
            trigger: "#sale_order_sidebar_button .o_portal_ask_changes",
            run: "click",
        },
        {
            content: "Describe the changes",
            trigger: '#modal_ask_changes textarea[name="message"]',
            run: "edit Please add two more users",
        },
        {
            content: "Send the request",
            trigger: "#modal_ask_changes .o_portal_ask_changes_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The request is confirmed",
            trigger: ".o_portal_ask_changes_ok",
        },
        {
            content: "The quotation shows the request",
            trigger: ".o_portal_changes_requested",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_change_payment_method", {
    url: "/my",
    steps: () => [
        {
            content: "The home page warns about the renewal",
            trigger: ".o_portal_renewal_banner a:contains(Change Payment Method)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Choose the other saved card",
            trigger: ".o_subscription_token_form label:contains(1111)",
            run: "click",
        },
        {
            content: "It is selected",
            trigger: ".o_subscription_token_form input[name='token_id']:checked + label:contains(1111)",
        },
        {
            content: "Use it for the subscription",
            trigger: 'button[name="o_subscription_token_submit"]',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The renewal is paid",
            trigger: ".o_subscription_state_badge:contains(In Progress)",
        },
        {
            content: "The new card pays the subscription",
            trigger: ".o_subscription_token:contains(1111)",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_subscription_ticket", {
    url: "/my/subscriptions",
    steps: () => [
        {
            content: "Open the subscription",
            trigger: "a:contains(/^PRT Subscription$/)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Submit a ticket about it",
            trigger: ".o_subscription_submit_ticket",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The ticket is about the subscription",
            trigger: ".o_portal_ticket_about_subscription:contains(PRT Subscription)",
        },
        {
            content: "Subject",
            trigger: 'input[name="subject"]',
            run: "edit My database is slow",
        },
        {
            content: "Description",
            trigger: 'textarea[name="description"]',
            run: "edit Since this morning.",
        },
        {
            content: "Submit",
            trigger: 'form[action="/submitted/ticket"] button[type="submit"]',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The ticket shows its subscription",
            trigger: ".o_portal_ticket_subscription:contains(PRT Subscription)",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_invoice_pdf", {
    url: "/my/invoices",
    steps: () => [
        {
            content: "Open the unpaid invoice",
            trigger: "tr:has(.o_invoice_not_paid_badge) a[href^='/my/invoices/']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The invoice shows its subscription",
            trigger: ".o_portal_invoice_subscription:contains(PRT Subscription)",
        },
        {
            content: "Download the PDF",
            trigger: "a.o_download_btn[href*='report_type=pdf'][href*='download=true']",
            async run({ anchor }) {
                const response = await fetch(anchor.href);
                const type = response.headers.get("Content-Type") || "";
                const disposition = response.headers.get("Content-Disposition") || "";
                if (!response.ok || !type.includes("pdf") || !disposition.includes("attachment")) {
                    throw new Error(`No PDF download: ${response.status} ${type} ${disposition}`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_home_cards", {
    url: "/my",
    steps: () => [
        {
            content: "Wait for the counters",
            trigger: ".o_portal_my_home:not(:has(.o_portal_doc_spinner))",
        },
        {
            content: "Subscriptions are shown even without any",
            trigger: ".o_portal_index_card:not(.d-none) a[href='/my/subscriptions']",
        },
        {
            content: "Tickets are shown with a way to submit one",
            trigger: ".o_portal_index_card:not(.d-none) a[href='/my/tickets'] button:contains(Submit a ticket)",
        },
        {
            content: "Success Packs are hidden without any",
            trigger: ".o_portal_index_card.d-none a[href='/my/success_packs']:not(:visible)",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_subscription_close_undo", {
    url: "/my/subscriptions",
    steps: () => [
        {
            content: "Open the subscription",
            trigger: "a:contains(/^PRT Subscription$/)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Close it",
            trigger: "button.o_subscription_close",
            run: "click",
        },
        {
            content: "The dialog tells when access ends",
            trigger: "#modal_subscription_close .o_subscription_close_date",
        },
        {
            content: "Choose a reason",
            trigger: "#modal_subscription_close select[name='reason_id']",
            run: "selectByLabel Moving elsewhere",
        },
        {
            content: "Say why",
            trigger: "#modal_subscription_close textarea[name='comment']",
            run: "edit Found a cheaper offer",
        },
        {
            content: "Confirm",
            trigger: "#modal_subscription_close .o_subscription_close_confirm",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The page says when it closes",
            trigger: ".o_subscription_closing .o_subscription_end_date",
        },
        {
            content: "Undo",
            trigger: ".o_subscription_close_undo",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "It keeps running",
            trigger: ".o_subscription_close_undone",
        },
        {
            content: "It can be closed again",
            trigger: "button.o_subscription_close",
        },
    ],
});

registry.category("web_tour.tours").add("portal_account_subscription_add_seats", {
    url: "/my/subscriptions",
    steps: () => [
        {
            content: "Open the subscription",
            trigger: "a:contains(/^PRT Subscription$/)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Add users",
            trigger: "a.o_subscription_change",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Two more users",
            trigger: "input.o_subscription_qty[aria-label='User']",
            run: "edit 5",
        },
        {
            content: "Review",
            trigger: ".o_subscription_change_review",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The amount due now is shown",
            trigger: ".o_subscription_change_summary .o_subscription_due_now",
        },
        {
            content: "Confirm",
            trigger: ".o_subscription_change_confirm:enabled",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Accept and pay the quotation",
            trigger: "#o_sale_portal_paynow",
            run: "click",
        },
        {
            content: "Pay with the saved card",
            trigger: '#modalaccept input[name="o_payment_radio"][data-payment-option-type="token"]',
            run: "click",
        },
        {
            content: "Pay",
            trigger: '#modalaccept button[name="o_payment_submit_button"]:enabled',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back on the order, now confirmed",
            trigger: ".o_portal_submenu:contains(Sales Orders)",
        },
    ],
});
