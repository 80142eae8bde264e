"""The inspector in a real browser: headless Chromium (Debian's /usr/bin/chromium, installed by .ci/run and
`make test`; no browser is downloaded) driven by Playwright on a served store with two users. A screenshot of
each page is saved under the test's temp dir; docs/inspector-search.png in the README comes from here."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.inspector_store import SCRIPT, seed_two_users
from tests.support.server_proc import ROOT, running_server

CHROMIUM = "/usr/bin/chromium"


def shoot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_inspector_in_headless_chromium(tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run and make test do)"
    store, shots = tmp_path / "store", tmp_path / "screenshots"
    shots.mkdir()
    seeded = asyncio.run(seed_two_users(store))
    with running_server(store) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        page.goto(f"{server.url}/")
        page.fill("header input[name=user]", "alice")
        page.click("header button[type=submit]")
        expect(page.locator("main")).to_contain_text("live records")
        shoot(page, shots, "home")

        page.click("header >> text=records")
        expect(page.locator("#records")).to_contain_text("Alice lives in Madrid")
        expect(page.locator("#records")).to_contain_text(SCRIPT)  # shown as text ...
        assert page.locator("main script").count() == 0  # ... not run as markup
        expect(page.locator("#records")).not_to_contain_text("locker")
        shoot(page, shots, "records")

        page.click("header >> text=search")
        page.fill("#search-form input[name=q]", "where does Alice live")
        page.click("#search-form button")
        first = page.locator("#hits tr").nth(1)
        expect(first).to_contain_text("Alice lives in Madrid")
        expect(first.locator(".stage").first).to_be_visible()
        shoot(page, shots, "search")
        if os.environ.get("OMNE_UPDATE_DOCS_SCREENSHOT"):  # refresh the README's picture (small: 64 colours)
            page.set_viewport_size({"width": 1100, "height": 300})
            picture = ROOT / "docs" / "inspector-search.png"
            page.screenshot(path=str(picture), full_page=True)
            Image.open(picture).convert("RGB").quantize(64).save(picture, optimize=True)

        first.locator("a").click()
        versions = page.locator("#versions tr")
        expect(versions).to_have_count(4)  # a header and three versions
        for i, city in enumerate(["Porto", "Lisbon", "Madrid"], start=1):
            expect(versions.nth(i)).to_contain_text(f"Alice lives in {city}")
        expect(versions.nth(1)).to_contain_text("superseded")
        expect(page.locator("#graph circle")).to_have_count(4)  # three versions (SUPERSEDES) and the insight
        shoot(page, shots, "record")

        page.goto(f"{server.url}/records/{seeded.script}?user=alice")
        expect(page.locator("#record-text")).to_have_text(SCRIPT)
        shoot(page, shots, "script-record")

        page.click("header >> text=blocks")
        page.click("#blocks >> text=human")
        history = page.locator("#block-history tr")
        expect(history).to_have_count(4)
        expect(history.nth(3)).to_contain_text("Name: Alice. Drinks sencha.")
        shoot(page, shots, "block-history")

        page.click("header >> text=jobs")
        expect(page.locator("#jobs")).to_contain_text("the summary model was unreachable")
        shoot(page, shots, "jobs")

        page.goto(f"{server.url}/records?user=bob")
        expect(page.locator("#records")).to_contain_text("Bob's locker code is 4812")
        expect(page.locator("#records")).not_to_contain_text("Alice")
        shoot(page, shots, "other-user")
        browser.close()
    assert dialogs == []  # no script ran
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        f"{n}.png" for n in ("home", "records", "search", "record", "script-record", "block-history", "jobs",
                             "other-user"))
