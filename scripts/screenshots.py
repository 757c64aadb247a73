"""Screenshots of the four main pages, at desktop and phone widths, for the README.

    make screenshots        # writes docs/screenshots/*.png

A fresh demo installation in a temporary directory (SQLite, local disk), served by
`manage.py runserver` and photographed by Playwright driving Debian's chromium (never a browser
download; $CHROMIUM overrides the executable). The demo's own jobs are used: the status page
of the quoted one, the job page of the one in production.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
# Previews are lazy-loaded: load them all, and wait for them, before the shot.
LOAD_LAZY_IMAGES = """Promise.all([...document.images].map((image) => {
  image.loading = "eager";
  return image.complete ? null : new Promise((done) => { image.onload = image.onerror = done; });
}))"""
LINK = re.compile(r"^\s+(PD-\d+)\s+(\w+)\s+(http\S+/j/\S+/)\s*$", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("screenshots: the server exited")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("screenshots: the server did not start")


def _shoot(browser, base: str, name: str, path: str, password: str | None = None) -> None:
    for size, viewport in SIZES.items():
        context = browser.new_context(
            viewport=viewport, base_url=base, is_mobile=size == "phone", device_scale_factor=1
        )
        page = context.new_page()
        if password is not None:
            page.goto("/desk/login/")
            page.get_by_label("Username").fill("operator")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/desk/")
        page.goto(path)
        page.evaluate(LOAD_LAZY_IMAGES)  # a full-page shot shows what is below the fold too
        page.screenshot(path=str(OUT / f"{name}-{size}.png"), full_page=True)
        context.close()
        print(f"screenshots: {name}-{size}.png")


def main() -> None:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("screenshots: install Debian's chromium (apt-get install chromium)")
    var_dir = tempfile.mkdtemp(prefix="printdesk-shots-")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        PRINTDESK_VAR_DIR=var_dir,
        DATABASE_URL=f"sqlite:///{Path(var_dir) / 'printdesk.sqlite3'}",
        SITE_URL=base,
        EMAIL_URL=f"file://{Path(var_dir) / 'mail'}",
        DJANGO_SETTINGS_MODULE="printdesk.settings",
    )
    manage = [sys.executable, "manage.py"]
    server = None
    try:
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        demo = subprocess.run(
            [*manage, "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout
        # The worker measures the demo's files and draws their previews, as `make run` does.
        subprocess.run([*manage, "worker", "--once"], cwd=ROOT, env=env, check=True)
        password = re.search(r"operator\s+password: (\S+)", demo).group(1)  # type: ignore[union-attr]
        links = {state: (reference, link) for reference, state, link in LINK.findall(demo)}
        quoted_link = links["quoted"][1].replace(env["SITE_URL"], "")
        in_production = links["in_production"][0]
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until_up(base, server)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            _shoot(browser, base, "request-form", "/")
            _shoot(browser, base, "status-page", quoted_link)
            _shoot(browser, base, "queue", "/desk/", password)
            _shoot(browser, base, "job-page", f"/desk/jobs/{in_production}/", password)
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
