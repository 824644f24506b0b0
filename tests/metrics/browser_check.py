"""Run by test_dashboard_browser.py in a process of its own (one Playwright per process: the browser
fixtures of other test packages may still hold theirs). Signs in, opens the dashboard at 1366×768,
takes the screenshots and prints what it measured as JSON.

    python tests/metrics/browser_check.py <base url> <username> <password> <screenshot dir>
"""
import json
import sys

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def signed_in_page(browser, base: str, username: str, password: str, problems: list):
    """A page of a new 1366×768 zh-CN context, signed in as `username`; console errors go to `problems`."""
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    return page


def main(base: str, username: str, password: str, screens: str) -> dict:
    out: dict = {"problems": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = signed_in_page(browser, base, username, password, out["problems"])
        page.goto("/metrics?period=2025-09")
        page.screenshot(path=f"{screens}/metrics-dashboard-1366x768.png")
        page.screenshot(path=f"{screens}/metrics-dashboard-full.png", full_page=True)
        out["scroll_width"] = page.evaluate("document.documentElement.scrollWidth")
        out["h1"] = page.inner_text("h1")
        out["charts"] = [page.locator("svg.chart").nth(i).bounding_box() for i in range(page.locator("svg.chart").count())]
        out["tiles"] = page.locator("section.tiles > .tile").count()  # the figures (the promises kept have their own)
        out["missed"] = page.locator("section.tiles > .tile.miss").count()
        out["linked_values"] = page.locator("section.tiles > .tile .value a").count()
        out["title_width"] = page.evaluate("document.querySelector('.tile h2').getBoundingClientRect().width")
        page.select_option("select[name=level]", "vip")
        page.wait_for_url("**level=vip**")
        out["h1_after_filter"] = page.inner_text("h1")
        out["url_after_filter"] = page.url
        browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5]), ensure_ascii=False))
