#!/usr/bin/env python3
"""Browser smoke test of the O2O server console.

Drives Debian's `chromium` through Debian's `chromium-driver` with Selenium
(PyPI `selenium`); Selenium Manager is never used, so nothing is downloaded.

    python3 Tests/browser/smoke.py --base-url http://127.0.0.1:8099

Steps: log in at /console/login, open /console/locations and wait for a
table of at least 5 rows, open the first location's detail page, come back,
switch the UI to Chinese with ?lang=zh-CN, save a screenshot; then the catalog:
the products list, a T-shirt's page with its colour × size SKU matrix, the
price lists and one list's effective-price checker, and a dry-run import on
the import page; then the stock of that SKU across locations and its ledger at
one of them, and the transfers, counts and replenishment pages; fail on any
SEVERE entry in the browser console log.

The last line printed is `smoke: 1 passed, 0 failed` on success or
`smoke: 0 passed, 1 failed` on failure (exit status 1).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 30  # seconds, for each wait


class SmokeFailure(Exception):
    pass


def log(msg: str) -> None:
    print(f"[smoke] {msg}", flush=True)


def make_driver() -> webdriver.Chrome:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    for path, pkg in ((chromium, "chromium"), (chromedriver, "chromium-driver")):
        if not os.path.exists(path):
            raise SmokeFailure(f"{path} not found (apt-get install -y {pkg})")

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1024,1366",  # portrait tablet
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})

    # An explicit driver path means Selenium Manager is not consulted.
    service = Service(executable_path=chromedriver)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(TIMEOUT)
    caps = driver.capabilities
    log(
        f"browser {caps.get('browserName')} {caps.get('browserVersion')}, "
        f"chromedriver {caps.get('chrome', {}).get('chromedriverVersion', '?').split(' ')[0]}"
    )
    return driver


def wait_for(driver, what: str, cond, timeout: float = TIMEOUT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(cond)
    except Exception as exc:  # TimeoutException and friends
        raise SmokeFailure(f"timed out after {timeout}s waiting for {what} (at {driver.current_url})") from exc


def location_rows(driver):
    rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
    return rows if len(rows) >= 5 else False


def rows_at_least(selector: str, n: int):
    def cond(driver):
        rows = driver.find_elements(By.CSS_SELECTOR, selector)
        return rows if len(rows) >= n else False
    return cond


def catalog(driver, base: str) -> None:
    # 6. Products list, filtered to T-shirts (their styles have a colour × size matrix).
    driver.get(f"{base}/console/products?q=-TS-")
    rows = wait_for(driver, "a products table with at least 5 rows", rows_at_least("table.products tbody tr", 5))
    log(f"products table has {len(rows)} rows")
    first = driver.find_element(By.CSS_SELECTOR, "table.products tbody tr a")
    log(f"open product: {first.get_attribute('href')}")
    first.click()
    wait_for(driver, "navigation to the product page", EC.staleness_of(first))

    # 7. The SKU matrix: colours down, sizes across, each cell a SKU code, an EAN-13 and a price.
    cells = wait_for(driver, "a SKU matrix with at least 4 cells", rows_at_least("table.matrix tbody td code", 4))
    matrix = driver.find_element(By.CSS_SELECTOR, "table.matrix").text
    if "¥" not in matrix or not re.search(r"\b69\d{11}\b", matrix):
        raise SmokeFailure("the SKU matrix shows no ¥ price or no 69… EAN-13 barcode")
    sizes = driver.find_element(By.CSS_SELECTOR, "table.matrix").find_elements(By.CSS_SELECTOR, "thead th")
    sku_code = cells[0].text.strip()
    log(f"SKU matrix: {len(cells)} SKUs, {len(sizes) - 1} sizes, first {sku_code}")

    # 8. Price lists, one list's entries and its effective-price checker.
    driver.get(f"{base}/console/price-lists")
    wait_for(driver, "a price-list table with at least 2 rows", rows_at_least("table tbody tr a", 2))
    link = driver.find_element(By.CSS_SELECTOR, "table tbody tr a")
    list_code = link.text.strip()
    log(f"open price list: {list_code}")
    link.click()
    wait_for(driver, "navigation to the price list", EC.staleness_of(link))
    wait_for(driver, "the list's entries", rows_at_least("table tbody tr td code", 1))
    button = driver.find_element(By.CSS_SELECTOR, "form[action*='#checker'] button[type=submit]")
    button.click()
    wait_for(driver, "the submitted checker", EC.staleness_of(button))
    checked = wait_for(driver, "effective prices", rows_at_least("table.checker tbody tr", 1))
    log(f"effective-price checker answered {len(checked)} rows: {checked[0].text[:120]!r}")

    # 9. Import page: a dry run of a one-row price file.
    driver.get(f"{base}/console/imports")
    form = wait_for(driver, "the import form", lambda d: d.find_element(By.ID, "import-form"))
    Select(form.find_element(By.NAME, "kind")).select_by_value("prices")
    box = form.find_element(By.NAME, "dryRun")
    if not box.is_selected():
        box.click()
    form.find_element(By.NAME, "csv").send_keys(f"price_list_code,sku_code,price\n{list_code},{sku_code},99.00\n")
    submit = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
    submit.click()
    wait_for(driver, "the import result", EC.staleness_of(submit))
    notice = wait_for(driver, "a passed dry run", lambda d: d.find_element(By.CSS_SELECTOR, ".notice.ok"))
    log(f"dry-run import: {notice.text!r}")

    # 10. Stock of that SKU across locations, then its ledger at the first location.
    driver.get(f"{base}/console/stock?sku={sku_code}")
    links = wait_for(driver, "a stock table with at least 1 location", rows_at_least("table tbody tr td a", 1))
    log(f"stock of {sku_code}: {len(links)} locations")
    links[0].click()
    wait_for(driver, "navigation to the ledger", EC.staleness_of(links[0]))
    moves = wait_for(driver, "ledger rows", rows_at_least("table:last-of-type tbody tr", 1))
    if "+" not in moves[-1].text:
        raise SmokeFailure(f"the oldest ledger row shows no receipt: {moves[-1].text!r}")
    log(f"ledger: {len(moves)} movements, oldest {moves[-1].text[:80]!r}")

    # 11. Transfers, counts, a store's replenishment suggestions and the order list render.
    for path in ("/console/transfers", "/console/counts", "/console/replenishment?location=ST-0001", "/console/orders"):
        driver.get(f"{base}{path}")
        wait_for(driver, f"a table on {path}", rows_at_least("main table tbody tr", 1))
        log(f"{path}: rendered")


def run(driver, base: str, username: str, password: str, screenshot: str) -> None:
    # 1. Log in.
    log(f"open {base}/console/login")
    driver.get(f"{base}/console/login")
    user_el = wait_for(driver, "input[name=username]",
                       lambda d: d.find_element(By.CSS_SELECTOR, "input[name=username]"))
    pass_el = driver.find_element(By.CSS_SELECTOR, "input[name=password]")
    user_el.clear()
    user_el.send_keys(username)
    pass_el.clear()
    pass_el.send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, "leaving /login with a <nav> on the page",
             lambda d: "/login" not in d.current_url and d.find_elements(By.CSS_SELECTOR, "nav"))
    log(f"logged in as {username}, now at {driver.current_url}")

    # 2. Locations list.
    driver.get(f"{base}/console/locations")
    rows = wait_for(driver, "a table with at least 5 rows on /console/locations", location_rows)
    log(f"locations table has {len(rows)} rows")
    text = driver.find_element(By.TAG_NAME, "body").text + "\n" + driver.title
    if "Locations" not in text and "门店与仓库" not in text:
        raise SmokeFailure("locations page contains neither 'Locations' nor '门店与仓库'")

    # 3. First location's detail page.
    links = driver.find_elements(By.CSS_SELECTOR, "tbody tr a")
    if not links:
        raise SmokeFailure("no link (tbody tr a) in the locations table")
    first = links[0]
    log(f"open first location: {first.get_attribute('href')}")
    first.click()
    # The old document (and so the clicked link) goes stale once we navigate.
    wait_for(driver, "navigation to the detail page", EC.staleness_of(first))
    h1 = wait_for(driver, "an <h1> on the detail page", lambda d: d.find_element(By.TAG_NAME, "h1"))
    log(f"detail page {driver.current_url}: h1={h1.text!r}")

    # 4. Back to the list, then switch language.
    driver.back()
    wait_for(driver, "the locations table after going back", location_rows)
    driver.get(f"{base}/console/locations?lang=zh-CN")
    wait_for(driver, "the locations table in zh-CN", location_rows)
    lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    if lang != "zh-CN":
        raise SmokeFailure(f"<html lang> is {lang!r} after ?lang=zh-CN, expected 'zh-CN'")
    log("language switched: <html lang=\"zh-CN\">")

    # 5. Screenshot.
    if not driver.save_screenshot(screenshot):
        raise SmokeFailure(f"could not save screenshot to {screenshot}")
    log(f"screenshot saved to {screenshot}")

    catalog(driver, base)


def check_console(driver) -> None:
    entries = driver.get_log("browser")
    severe = [e for e in entries if e.get("level") == "SEVERE"]
    for e in entries:
        if e.get("level") != "SEVERE":
            log(f"browser console {e.get('level')}: {e.get('message')}")
    if severe:
        for e in severe:
            log(f"browser console SEVERE: {e.get('message')}")
        raise SmokeFailure(f"{len(severe)} SEVERE browser console entr{'y' if len(severe) == 1 else 'ies'}")
    log(f"browser console: {len(entries)} entries, none SEVERE")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8099")
    ap.add_argument("--username", default="hq_admin")
    ap.add_argument("--password", default=os.environ.get("O2O_DEMO_PASSWORD"),
                    help="default: $O2O_DEMO_PASSWORD")
    ap.add_argument("--screenshot", default="smoke-locations.png")
    args = ap.parse_args(argv)

    base = args.base_url.rstrip("/")
    started = time.monotonic()
    driver = None
    ok = False
    try:
        if not args.password:
            raise SmokeFailure("no password: pass --password or set O2O_DEMO_PASSWORD")
        driver = make_driver()
        run(driver, base, args.username, args.password, args.screenshot)
        check_console(driver)
        ok = True
    except SmokeFailure as exc:
        log(f"FAIL: {exc}")
        if exc.__cause__ is not None:
            log(f"      caused by: {type(exc.__cause__).__name__}: {str(exc.__cause__).strip()[:500]}")
    except Exception:  # unexpected: WebDriver errors, missing elements, ...
        log("FAIL: unexpected error")
        traceback.print_exc(file=sys.stdout)
    finally:
        if driver is not None:
            if not ok:
                try:
                    log(f"page at failure: {driver.current_url} title={driver.title!r}")
                    root, ext = os.path.splitext(args.screenshot)
                    fail_shot = f"{root}-failure{ext or '.png'}"
                    driver.save_screenshot(fail_shot)
                    log(f"failure screenshot saved to {fail_shot}")
                    body = driver.find_element(By.TAG_NAME, "body").text
                    log("page text (first 1500 chars):\n" + body[:1500])
                    # Console entries help diagnose the failure too.
                    for e in driver.get_log("browser"):
                        log(f"browser console {e.get('level')}: {e.get('message')}")
                except Exception as exc:  # best effort only
                    log(f"(could not collect failure details: {exc})")
            try:
                driver.quit()
            except Exception:
                pass

    log(f"finished in {time.monotonic() - started:.1f}s")
    if ok:
        print("smoke: 1 passed, 0 failed", flush=True)
        return 0
    print("smoke: 0 passed, 1 failed", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
