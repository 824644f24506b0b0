"""Run by test_compliance_browser.py in a process of its own: signs in as each given user, opens the September
2025 dashboard at 1366×768, screenshots it (the window, the promises section, the whole page) and the list of
the visits and tickets that broke the 24-hour promise; prints what it saw as JSON.

    python tests/metrics/browser_check_compliance.py <base url> <password> <screenshot dir> <username>…
"""
import json
import sys

from playwright.sync_api import sync_playwright

from browser_check import ARGS, signed_in_page  # (run as a script: this folder is on sys.path)


def main(base: str, password: str, screens: str, usernames: list[str]) -> dict:
    out: dict = {"problems": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for username in usernames:
            page = signed_in_page(browser, base, username, password, out["problems"])
            page.goto("/metrics?period=2025-09")
            seen = {"scroll_width": page.evaluate("document.documentElement.scrollWidth")}
            page.screenshot(path=f"{screens}/compliance-{username}-1366x768.png")
            section = page.locator("#compliance")
            section.scroll_into_view_if_needed()
            page.screenshot(path=f"{screens}/compliance-{username}-section.png")
            page.screenshot(path=f"{screens}/compliance-{username}-full.png", full_page=True)
            seen["section_width"] = section.bounding_box()["width"]
            seen["tiles"] = {t.get_attribute("id"): t.inner_text() for t in section.locator(".tile").all()}
            seen["table"] = section.locator("table").inner_text()
            seen["charts"] = page.locator("svg.chart").count()
            link = page.locator("#tile-clock_onsite_24h .value a")
            with page.expect_navigation():
                link.click()
            seen["list_h1"] = page.inner_text("h1")
            seen["list_rows"] = page.locator("main table > tbody > tr").count()
            seen["list_text"] = page.inner_text("main")
            page.screenshot(path=f"{screens}/compliance-{username}-broken-list.png")
            out[username] = seen
            page.context.close()
        browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]), ensure_ascii=False))
