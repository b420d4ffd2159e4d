#!/usr/bin/env python3
"""Take the portal screenshots shown in the README and static/description.

Logs in as the demo portal customer (``portal`` / ``portal``), opens each page
in headless Chromium through the DevTools protocol and saves full-page PNGs to
``portal_account/static/description/screenshots/``.

Needs a database with portal_account and payment_demo installed with demo
data, for instance::

    odoo -d shot_demo -i portal_account,payment_demo --stop-after-init \\
        --addons-path=...
    python3 scripts/screenshots.py -d shot_demo --addons-path=...

An Odoo server is started on a loopback port unless ``--url`` points to one
that already serves the database. Requires ``requests``, ``websocket-client``
and ``Pillow``; Chromium at ``--chromium`` (default: first of chromium,
chromium-browser, google-chrome on PATH).
"""

import argparse
import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin, urlsplit

import requests
import websocket
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "portal_account", "static", "description", "screenshots")
DESKTOP_WIDTH = 1280
PHONE_WIDTH = 390
# Full pages are cut at this height (CSS pixels): the interesting part of a
# portal page is its top, and it keeps each PNG small.
MAX_HEIGHT = 1600
MAX_BYTES = 300 * 1024


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url, timeout=180, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"the Odoo server exited with code {proc.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(1)
    sys.exit(f"{url} did not answer within {timeout}s")


def start_odoo(args, port, log_path):
    cmd = [
        args.odoo_bin,
        "-d",
        args.database,
        f"--db-filter=^{re.escape(args.database)}$",
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        "--workers=0",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]
    if args.config:
        cmd += ["-c", args.config]
    if args.addons_path:
        cmd.append(f"--addons-path={args.addons_path}")
    log = open(log_path, "w")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return proc, log


def login(base_url, login_name, password):
    """A requests session logged in on the portal; returns its session_id."""
    session = requests.Session()
    page = session.get(urljoin(base_url, "/web/login"), timeout=60)
    page.raise_for_status()
    match = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
    if not match:
        sys.exit("no csrf_token on /web/login")
    response = session.post(
        urljoin(base_url, "/web/login"),
        data={
            "csrf_token": match.group(1),
            "login": login_name,
            "password": password,
            "redirect": "/my",
        },
        timeout=60,
    )
    response.raise_for_status()
    if "/web/login" in urlsplit(response.url).path:
        sys.exit(f"could not log in as {login_name!r}")
    return session, session.cookies.get("session_id")


class Chromium:
    """Just enough of the DevTools protocol to load a page and capture it."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="portal_shots_chrome_")
        port = _free_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 60
        ws_url = None
        while time.time() < deadline and not ws_url:
            try:
                targets = requests.get(
                    f"http://127.0.0.1:{port}/json/list", timeout=2
                ).json()
                ws_url = next(
                    t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"
                )
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.5)
        if not ws_url:
            self.close()
            sys.exit("Chromium did not open its DevTools port")
        self.ws = websocket.create_connection(ws_url, timeout=120, suppress_origin=True)
        self._id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, name, timeout=90):
        deadline = time.time() + timeout
        for index, event in enumerate(self.events):
            if event.get("method") == name:
                del self.events[: index + 1]
                return event
        self.ws.settimeout(timeout)
        while time.time() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("method") == name:
                self.events.clear()
                return message
        raise TimeoutError(name)

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        return result.get("result", {}).get("value")

    def set_cookie(self, base_url, name, value):
        self.call(
            "Network.setCookie",
            name=name,
            value=value,
            url=base_url,
            path="/",
            httpOnly=True,
        )

    def navigate(self, url, width, height=900, mobile=False):
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        # Let Odoo's public widgets start, fonts load and counters arrive.
        self.evaluate(
            "new Promise(r => document.fonts.ready.then(() => setTimeout(r, 1500)))"
        )

    def screenshot(self, width, mobile=False):
        height = self.evaluate(
            "Math.ceil(Math.max(document.documentElement.scrollHeight,"
            " document.body.scrollHeight))"
        )
        height = min(int(height or 900), MAX_HEIGHT)
        # Resize the viewport to the full height so that fixed and sticky
        # elements are laid out once, like in a real full-page view.
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.evaluate("new Promise(r => setTimeout(r, 400))")
        data = self.call(
            "Page.captureScreenshot",
            format="png",
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            captureBeyondViewport=True,
        )["data"]
        return base64.b64decode(data)

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001  (best effort on the way out)
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.profile, ignore_errors=True)


def save_png(raw, path):
    """Save as an optimised PNG, quantised or downscaled to stay small."""
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    for attempt in range(4):
        candidate = image
        if attempt:
            candidate = image.quantize(colors=256 // attempt, dither=Image.NONE)
        if attempt == 3:
            candidate = image.resize(
                (image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS
            ).quantize(colors=128, dither=Image.NONE)
        buffer = io.BytesIO()
        candidate.save(buffer, format="PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES or attempt == 3:
            break
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return buffer.tell()


# Open the "Close Subscription" dialog from its sidebar button, once the
# page's scripts are there to show it.
OPEN_CLOSE_DIALOG = (
    "new Promise(r => setTimeout(() => "
    "{document.querySelector('.o_subscription_close').click(); r();}, 1500))"
)


def demo_targets(session, base_url):
    """The pages to capture, with ids resolved from the portal itself."""

    def first_link(path, pattern):
        html = session.get(urljoin(base_url, path), timeout=60).text
        match = re.search(pattern, html)
        if not match:
            sys.exit(f"nothing matching {pattern!r} on {path}")
        return match.group(0)

    to_renew = first_link(
        "/my/subscriptions?filterby=to_renew", r"/my/subscriptions/\d+"
    )
    running = first_link(
        "/my/subscriptions?filterby=in_progress", r"/my/subscriptions/\d+"
    )
    closed = first_link("/my/subscriptions?filterby=closed", r"/my/subscriptions/\d+")
    closing = next(
        (
            link
            for link in re.findall(
                r"/my/subscriptions/\d+",
                session.get(
                    urljoin(base_url, "/my/subscriptions?filterby=in_progress"),
                    timeout=60,
                ).text,
            )
            if "o_subscription_closing"
            in session.get(urljoin(base_url, link), timeout=60).text
        ),
        None,
    )
    if not closing:
        sys.exit("no closing subscription in the demo data")
    paused = first_link("/my/subscriptions?filterby=paused", r"/my/subscriptions/\d+")
    # The change page reviewing two more seats of its last line (the users).
    change_form = session.get(urljoin(base_url, f"{running}/change"), timeout=60).text
    seats = re.findall(r'name="(qty_\d+)"\s+value="(\d+)"', change_form)
    if not seats:
        sys.exit(f"no quantity field on {running}/change")
    field, quantity = seats[-1]
    change_review = f"{running}/change?{field}={int(quantity) + 2}"
    ticket = first_link("/my/tickets", r"/my/ticket/\d+")
    quote = first_link("/my/quotes", r"/my/orders/\d+(\?access_token=[\w-]+)?")
    desktop, phone = DESKTOP_WIDTH, PHONE_WIDTH
    return [
        ("01_my_home", "/my", desktop, None),
        ("02_subscriptions", "/my/subscriptions", desktop, None),
        ("03_subscription_to_renew", to_renew, desktop, None),
        ("04_subscription_payment_method", f"{to_renew}/payment_method", desktop, None),
        ("05_subscription_running", running, desktop, None),
        ("06_subscription_closed", closed, desktop, None),
        ("07_invoices", "/my/invoices", desktop, None),
        ("08_ticket", ticket, desktop, None),
        ("09_success_packs", "/my/success_packs", desktop, None),
        (
            "10_quote_ask_changes",
            quote,
            desktop,
            # Open the "Ask changes" dialog from its sidebar button.
            "document.querySelector('.o_portal_ask_changes').click()",
        ),
        ("11_phone_my_home", "/my", phone, None),
        ("12_phone_subscription", to_renew, phone, None),
        (
            "13_subscription_close",
            running,
            desktop,
            OPEN_CLOSE_DIALOG,
        ),
        ("14_subscription_closing", closing, desktop, None),
        ("15_subscription_change", change_review, desktop, None),
        ("16_subscription_paused", paused, desktop, None),
        (
            "17_phone_subscription_close",
            running,
            phone,
            OPEN_CLOSE_DIALOG,
        ),
        ("18_phone_subscription_change", change_review, phone, None),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("-c", "--config", help="Odoo configuration file")
    parser.add_argument("--addons-path")
    parser.add_argument("--odoo-bin", default=shutil.which("odoo") or "odoo")
    parser.add_argument(
        "--url", help="a running Odoo serving the database (else one is started)"
    )
    parser.add_argument("--port", type=int, default=8071)
    parser.add_argument(
        "--chromium",
        default=next(
            filter(
                None,
                map(shutil.which, ("chromium", "chromium-browser", "google-chrome")),
            ),
            None,
        ),
    )
    parser.add_argument("--login", default="portal")
    parser.add_argument("--password", default="portal")
    parser.add_argument("--out", default=OUT_DIR)
    parser.add_argument("--only", nargs="*", help="names of the shots to take")
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("Chromium not found: pass --chromium")

    odoo_proc = log = None
    base_url = args.url
    if not base_url:
        base_url = f"http://127.0.0.1:{args.port}"
        log_path = os.path.join(tempfile.gettempdir(), "portal_screenshots_odoo.log")
        odoo_proc, log = start_odoo(args, args.port, log_path)
        print(f"Odoo starting on {base_url} (log: {log_path})")
        _wait_http(urljoin(base_url, "/web/login"), proc=odoo_proc)

    browser = None
    try:
        session, session_id = login(base_url, args.login, args.password)
        targets = demo_targets(session, base_url)
        os.makedirs(args.out, exist_ok=True)
        browser = Chromium(args.chromium)
        browser.set_cookie(base_url, "session_id", session_id)
        for name, path, width, script in targets:
            if args.only and name not in args.only:
                continue
            mobile = width < 576
            browser.navigate(urljoin(base_url, path), width, mobile=mobile)
            if script:
                browser.evaluate(script)
                browser.evaluate("new Promise(r => setTimeout(r, 800))")
            raw = browser.screenshot(width, mobile=mobile)
            target = os.path.join(args.out, f"{name}.png")
            size = save_png(raw, target)
            print(f"{name:34} {path:48} {size // 1024:4d} KB")
    finally:
        if browser:
            browser.close()
        if odoo_proc:
            os.killpg(odoo_proc.pid, signal.SIGTERM)
            try:
                odoo_proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(odoo_proc.pid, signal.SIGKILL)
            log.close()


if __name__ == "__main__":
    main()
