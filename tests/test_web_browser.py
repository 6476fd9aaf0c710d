"""The web page in a real headless Chromium: an answer with its dated source, urgent help with tel: links,
clarification buttons, the hand-off button, all by keyboard."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

pytest.importorskip("fastapi")

from chatbot import server, server_config  # noqa: E402
from chatbot.engine import Engine  # noqa: E402
from chatbot.reply import Reply  # noqa: E402
from chatbot.store import SQLiteStore  # noqa: E402

from .conftest import ROOT  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Chromium as this machine (and CI's container) can run it: no sandbox, no GPU, nothing fetched.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1000,1400"]
URGENT_RED = "rgba(176, 40, 26, 1)"      # --urgent in chat.css, as WebDriver reports colours


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why}: .ci/run installs chromium and chromium-driver")
    pytest.skip(f"{why} (apt-get install chromium chromium-driver)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """`serve --web` on a free loopback port, sessions in a temporary SQLite file."""
    import uvicorn

    cfg = server_config.load(ROOT)
    cfg = replace(cfg, web=replace(cfg.web, enabled=True))
    app = server.create_app(engine, SQLiteStore(tmp_path / "sessions.sqlite3"), cfg)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(400):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        _unavailable("chromium or chromedriver is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (the test extra has it)")
    monkeypatch.setenv("SE_OFFLINE", "true")        # Selenium Manager must never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def first_paragraph(reply: Reply) -> str:
    return " ".join(reply.text.split("\n\n")[0].split())


def test_conversation_in_chromium(engine: Engine, site: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    expected = engine.session(disclaimer_shown=True)     # the same conversation, in-process

    def until(check: Callable[[], Any]) -> Any:
        return wait.until(lambda _: check())

    def bubbles() -> list[Any]:
        return list(browser.find_elements(By.CSS_SELECTOR, "#log .msg.bot"))

    def ask(text: str, press: Callable[[], None] | None = None) -> Any:
        before = len(bubbles())
        if press is None:
            box = browser.find_element(By.ID, "message")
            box.send_keys(text)
            box.send_keys(Keys.ENTER)                    # Enter sends; no mouse anywhere in this test
        else:
            press()
        until(lambda: len(bubbles()) == before + 1)
        return bubbles()[-1]

    browser.get(site)
    until(lambda: browser.find_element(By.ID, "message").is_enabled())
    disclaimer = browser.find_element(By.ID, "disclaimer")
    assert disclaimer.is_displayed() and disclaimer.text == engine.knowledge.message("disclaimer")

    # An answer, with its source and the source's review date.
    question = "what is soft tissue sarcoma?"
    reply = expected.send(question)
    assert reply.kind == "answer" and reply.sources
    bubble = ask(question)
    assert first_paragraph(reply) in " ".join(bubble.text.split())
    source = bubble.find_element(By.CSS_SELECTOR, ".sources li")
    assert reply.sources[0].publisher in source.text
    reviewed = source.find_element(By.TAG_NAME, "time")
    assert reviewed.get_attribute("datetime") == reply.sources[0].last_reviewed
    assert reviewed.text.endswith(reply.sources[0].last_reviewed[:4])       # "27 March 2025"
    # The live region announces the reply to screen readers.
    until(lambda: browser.find_element(By.ID, "announce").get_attribute("textContent") == reply.text)

    # A red flag: urgent styling, numbers as tel: links, announced assertively.
    flag = "I have a fever of 39 and I'm on chemo"
    reply = expected.send(flag)
    assert reply.kind == "safety"
    bubble = ask(flag)
    assert "urgent" in (bubble.get_attribute("class") or "").split()
    assert bubble.value_of_css_property("border-left-color") == URGENT_RED
    assert bubbles()[0].value_of_css_property("border-left-color") != URGENT_RED
    links = {a.get_attribute("href") for a in bubble.find_elements(By.CSS_SELECTOR, "a[href^='tel:']")}
    wanted = {f"tel:{n}" for n in ("999", "111") if f" {n}" in reply.text}
    assert wanted and wanted <= links, (links, reply.text)
    until(lambda: browser.find_element(By.ID, "announce-urgent").get_attribute("textContent") == reply.text)
    # After urgent help, a thank-you is answered as one, in ordinary styling. (A short question
    # right after it may be read after the emergency and get the check-in again: recall first.)
    thanks = "thank you"
    reply = expected.send(thanks)
    assert reply.kind == "answer" and reply.intent == "thanks"
    bubble = ask(thanks)
    assert "urgent" not in (bubble.get_attribute("class") or "").split()

    # A clarifying question: numbered buttons; choosing one answers that topic.
    both = "surgery or radiotherapy?"
    reply = expected.send(both)
    assert reply.kind == "clarify" and len(reply.options) >= 2
    bubble = ask(both)
    buttons = bubble.find_elements(By.CSS_SELECTOR, "button.option")
    assert [b.text for b in buttons] == [f"{i}. {o.title}" for i, o in enumerate(reply.options, 1)]
    chosen = expected.send("2")
    assert chosen.intent == reply.options[1].intent
    bubble = ask("", press=lambda: buttons[1].send_keys(Keys.ENTER))
    assert first_paragraph(chosen) in " ".join(bubble.text.split())
    assert browser.find_elements(By.CSS_SELECTOR, "#log .msg.user")[-1].text.endswith(reply.options[1].title)
    assert not any(b.is_enabled() for b in buttons)         # an answered question's buttons retire

    # What people type is shown as text, never run as HTML.
    sneaky = "<img src=x id=injected> is this <b>serious</b>?"
    expected.send(sneaky)
    ask(sneaky)
    assert browser.find_elements(By.CSS_SELECTOR, "#log .msg.user")[-1].text.endswith(sneaky)
    assert not browser.find_elements(By.CSS_SELECTOR, "#injected, #log b")

    # "Talk to a person" by keyboard: Tab from the question box past Send; the focus ring shows.
    browser.find_element(By.ID, "message").click()
    active = browser.switch_to.active_element
    active.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    person = browser.switch_to.active_element
    assert person.get_attribute("id") == "person"
    assert person.value_of_css_property("outline-style") != "none"
    handoff = expected.engine.knowledge.answers[engine.knowledge.settings.roles["handoff"]]
    bubble = ask("", press=lambda: person.send_keys(Keys.ENTER))
    assert " ".join(handoff.text.split()).split(".")[0] in " ".join(bubble.text.split())

    # A message the server refuses is not lost: the reason shows and the text is back in the box.
    too_long = "x" * 2001
    box = browser.find_element(By.ID, "message")
    browser.execute_script("arguments[0].value = arguments[1]", box, too_long)
    box.send_keys(Keys.ENTER)
    until(lambda: "longer than 2000 characters" in browser.find_element(By.ID, "status").text)
    until(lambda: box.get_attribute("value") == too_long)

    # 200% zoom of this 1000 px window is a 500 CSS px viewport; WCAG's reflow test is 320 px.
    # At either, the conversation reflows: nothing needs scrolling sideways.
    for width in (500, 320):
        browser.set_window_size(width, 900)
        assert browser.execute_script("return window.innerWidth") <= width
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), width
