"""The sandbox's page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

People tap, type and share locations on the page as a trainee would; every wait is on the page's state
(Playwright's expect retries until it holds), never a fixed sleep. Screenshots land in
test-artifacts/sandbox/ (git-ignored). The sandbox runs on its own SQLite file, so the PostgreSQL pass skips
these; without Chromium they are skipped locally and fail in CI.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.config import Config
from db.alerts import Alert, AlertAck
from db.members import Member
from sandbox.core import Sandbox
from sandbox.web import serve

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "sandbox"
CHROMIUM = Path("/usr/bin/chromium")
# As the machine's notes say: without the background-networking flags Chromium keeps dialling out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Generous: on a loaded 2-core machine a step (an update, a fan-out paced per chat) can take seconds.
WAIT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(os.environ.get("LIAISON_TEST_DATABASE_URL", "").strip()),
        reason="the sandbox runs on its own SQLite file: the SQLite pass covers the page",
    ),
]
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
# Every wait on page state has the same generous ceiling: loading a scenario joins people through real
# invites, which takes seconds on a loaded 2-core machine (a ceiling, not a sleep).
expect.set_options(timeout=WAIT_MS)


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("no /usr/bin/chromium (apt-get install -y chromium chromium-driver)")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _need_chromium()
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def sandbox(config: Config, tmp_path: Path) -> AsyncIterator[tuple[Sandbox, str]]:
    """The free-play sandbox served on a free port."""
    box = Sandbox(config, tmp_path / "sandbox")
    await box.start("free-play", "fr")
    server, port = await serve(box)
    try:
        yield box, f"http://127.0.0.1:{port}/"
    finally:
        server.stop()
        await box.stop()
        await server.close_all_connections()
    assert box.errors == []


async def open_page(browser: Any, url: str, *, width: int = 1600, height: int = 900) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.problems = problems
    await page.goto(url)
    await expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=WAIT_MS)
    return page


async def shot(page: Any, name: str) -> Path:
    """Keep what the screen shows as a test artefact (the README's docs/sandbox.png is one of them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


def phone(page: Any, name: str) -> Any:
    return page.locator(f'section.phone[data-name="{name}"]')


async def tap(page: Any, who: str, label: str) -> None:
    """Press the newest inline button showing `label` on a phone."""
    button = phone(page, who).locator("button.inline", has_text=label).last
    await expect(button).to_be_visible(timeout=WAIT_MS)
    await button.click()


async def rows(box: Sandbox, model: Any) -> list[Any]:
    async with box.db.reading() as session:
        return list((await session.exec(select(model))).all())


async def test_raise_an_alert_with_taps_see_it_everywhere_acknowledge_and_escalate(
    browser: Any, sandbox: tuple[Sandbox, str]
) -> None:
    box, url = sandbox
    started = time.monotonic()
    page = await open_page(browser, url + "?lang=en")
    await expect(page.locator("section.phone")).to_have_count(4)
    await expect(phone(page, "John")).to_contain_text("Welcome to Liaison, John.")
    await expect(phone(page, "Awa")).to_contain_text("Bienvenue sur Liaison, Awa.")
    await shot(page, "01-four-phones")

    # Awa raises an urgent security alert at gate 2 with taps: the 🚨 key, category, severity, her
    # location (Telegram's share-location key), one line of text, Send.
    awa = phone(page, "Awa")
    await awa.locator(".reply-keyboard button", has_text="🚨 Alerte").click()
    await tap(page, "Awa", "Incident de sécurité")
    await tap(page, "Awa", "Urgent")
    await expect(awa.locator(".reply-keyboard button.location")).to_be_visible()
    await awa.locator(".reply-keyboard button.location").click()
    await expect(awa.locator("li.msg.user .location-card")).to_be_visible()
    await awa.locator(".composer input").fill("Véhicule qui force la barrière à la porte 2, deux occupants.")
    await awa.locator(".composer input").press("Enter")
    await tap(page, "Awa", "✅ Envoyer")
    await expect(awa).to_contain_text("✅ Alerte n°1 envoyée à 2 personnes.")  # the post: Ibrahim, John

    # Every phone of the post gets it in its reader's language; Kantchari's does not (need to know).
    john, ibrahim, salif = phone(page, "John"), phone(page, "Ibrahim"), phone(page, "Salif")
    await expect(john.locator("li.msg.bot", has_text="URGENT ALERT #1")).to_be_visible()
    await expect(john).to_contain_text("Security incident")
    await expect(ibrahim.locator("li.msg.bot", has_text="ALERTE 🔴 URGENT n°1")).to_be_visible()
    await expect(ibrahim).to_contain_text("Incident de sécurité")
    await expect(john.locator("li.msg.bot b", has_text="URGENT ALERT #1")).to_have_count(1)  # HTML rendered
    await box.settle()
    await expect(salif.locator("li.msg.bot", has_text="n°1")).to_have_count(0)
    await shot(page, "02-alert-everywhere")

    # John (Police) acknowledges on his copy; Awa's card is edited in place with his name.
    card = awa.locator("li.msg.bot", has_text="ALERTE 🔴 URGENT n°1").last
    card_id = await card.get_attribute("data-message-id")
    await tap(page, "John", "👁 Seen")
    await expect(john).to_have_attribute("data-last-toast", "Seen: recorded for National Police.")
    edited = awa.locator(f'li.msg.bot[data-message-id="{card_id}"]')
    await expect(edited).to_contain_text("(John)")
    await expect(edited).to_have_attribute("data-edited", "true")

    # The Gendarmerie has not acknowledged: +15 minutes, and the alert escalates to the chief.
    before = box.clock.now()
    await page.locator("#plus15").click()
    await expect(ibrahim.locator("li.msg.bot", has_text="Escalade")).to_be_visible()
    await expect(ibrahim).to_contain_text("Toujours sans accusé de réception après 5 minutes : Gendarmerie.")
    await box.settle()
    await expect(john.locator("li.msg.bot", has_text="⏰")).to_have_count(0)
    await expect(page.locator("body[data-busy=false]")).to_be_attached()
    assert box.clock.now() - before >= timedelta(minutes=15)
    shown = datetime.fromisoformat(await page.locator("#clock").get_attribute("data-now"))
    assert shown - before >= timedelta(minutes=14)  # the page's clock moved too
    await shot(page, "03-escalated")

    [alert] = await rows(box, Alert)
    assert (alert.category, alert.severity, alert.state) == ("security", "urgent", "open")
    assert alert.escalation_level == 2 and alert.latitude == pytest.approx(13.7961)
    acks = {a.service_code for a in await rows(box, AlertAck)}
    assert acks == {"customs", "police"}
    assert page.problems == []
    print(f"\nbrowser alert test: {time.monotonic() - started:.1f} s")


async def test_a_trainer_plays_a_scenario_from_the_page(browser: Any, sandbox: tuple[Sandbox, str]) -> None:
    box, url = sandbox
    page = await open_page(browser, url + "?lang=fr")
    await page.locator("#scenario-select").select_option("alert-gate-2")
    await page.locator("#load").click()
    trainer = page.locator("#trainer")
    await expect(trainer).to_be_visible()
    await expect(page.locator("#scenario-title")).to_have_text("Alerte sanitaire à la porte 2")
    await expect(phone(page, "Mariama")).to_contain_text("Bienvenue sur Liaison, Mariama.")
    total = len(box.scenarios["alert-gate-2"].steps)
    for number in range(1, total + 1):
        await expect(page.locator("#next-step")).to_be_enabled()
        await page.locator("#next-step").click()
        await expect(trainer).to_have_attribute("data-index", str(number))
        await expect(trainer).to_have_attribute("data-playing", "false")
        if number == 2:
            await shot(page, "04-scenario-alert-sent")
    await expect(trainer).to_have_attribute("data-done", "true")
    await expect(page.locator("#scenario-checks li.ko")).to_have_count(0)
    await expect(page.locator("#scenario-checks li.ok")).to_have_count(3)
    await expect(page.locator("#scenario-next")).to_have_text("Fin du scénario.")
    await expect(page.locator("#next-step")).to_be_disabled()
    # The photo Awa sent is re-sent by file id to every phone, and rendered.
    await expect(phone(page, "John").locator("li.msg.bot img.photo")).to_have_count(1)
    await expect(phone(page, "John")).to_contain_text("Resolved")
    # Every chat followed its newest message down (photos, edits and keyboards change heights as they come).
    await page.wait_for_function(
        """() => [...document.querySelectorAll('.chat-wrap')].every(
            (w) => w.scrollHeight - w.clientHeight - w.scrollTop < 2)"""
    )
    await shot(page, "05-scenario-done")
    assert page.problems == []


async def test_add_a_phone_switch_languages_and_fit_a_projector(
    browser: Any, sandbox: tuple[Sandbox, str]
) -> None:
    box, url = sandbox
    page = await open_page(browser, url + "?lang=en", width=1280, height=720)
    await expect(page.locator("#add-phone")).to_have_text("+ Phone")
    await page.locator("[data-lang=fr]").click()
    await expect(page.locator("#add-phone")).to_have_text("+ Téléphone")
    await expect(page.locator("#plus15")).to_have_text("+15 min")
    await expect(page.locator("#shift")).to_contain_text("relève de")

    await page.locator("#add-phone").click()
    form = page.locator("#add-form")
    await form.locator("[name=name]").fill("Kofi")
    await form.locator("[name=language]").select_option("en")
    await form.locator("[name=post]").select_option("BF-KANTCHARI")
    await form.locator("[name=service]").select_option("police")
    await page.locator("#add-submit").click()
    kofi = phone(page, "Kofi")
    await expect(kofi).to_contain_text("Welcome to Liaison, Kofi.")
    await expect(kofi.locator(".what")).to_contain_text("Police nationale")
    await expect(kofi.locator("li.msg.user", has_text="/start")).to_contain_text("lien d'invitation")
    [member] = [m for m in await rows(box, Member) if m.display_name == "Kofi"]
    assert (member.post_code, member.service_code, member.language) == ("BF-KANTCHARI", "police", "en")

    # A projector: larger text, and still nothing wider than the screen.
    for _ in range(3):
        await page.locator("#larger").click()
    assert await page.evaluate("getComputedStyle(document.documentElement).fontSize") == "20.8px"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
    await kofi.locator(".composer input").fill("/help")
    await kofi.locator(".composer input").press("Enter")
    await expect(kofi.locator("li.msg.bot", has_text="What you can do").last).to_be_visible()
    await shot(page, "06-projector")
    assert page.problems == []


async def test_on_a_phone_the_page_is_no_wider_than_the_screen(
    browser: Any, sandbox: tuple[Sandbox, str]
) -> None:
    """A trainee may open the room's page on their own phone: the scenario list (long titles) must shrink."""
    _box, url = sandbox
    for language in ("fr", "en"):
        page = await open_page(browser, f"{url}?lang={language}", width=360, height=780)
        longest = await page.evaluate(
            "Math.max(...[...document.querySelectorAll('#scenario-select option')].map(o => o.text.length))"
        )
        assert longest > 40  # the list does hold titles wider than the screen
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await expect(page.locator("#load")).to_be_in_viewport(ratio=1)
        await shot(page, f"07-phone-{language}")
        assert page.problems == []
        await page.context.close()

    # French narration keeps its punctuation with the word before it ("»)," never starts a line).
    page = await open_page(browser, f"{url}?lang=fr", width=360, height=780)
    await page.locator("#scenario-select").select_option("missed-handover")
    await page.locator("#load").click()
    await expect(page.locator("#scenario-progress")).to_have_text("Étape 0 sur 7")
    await expect(page.locator("#next-step")).to_be_enabled()
    await page.locator("#next-step").click()
    await expect(page.locator("#scenario-checks li.ok")).to_have_count(4)
    say = await page.locator("#scenario-say").evaluate("e => e.textContent")
    assert "la relève\u00a0: à 06 h 45" in say and " :" not in say
    summary = await page.locator("#trainer .next").evaluate("e => e.textContent")
    assert "«\u00a0RAS – rien à signaler\u00a0»" in summary
    await shot(page, "08-phone-scenario")
    assert page.problems == []
