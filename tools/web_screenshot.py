"""Take docs/web-chat.png: the web page in headless Chromium after a real conversation.

Starts `serve --web` in-process on a free loopback port (sessions in a temporary SQLite
file), asks a question and sends a red flag, then saves the whole page. Needs Debian's
chromium and chromium-driver and the test extra (selenium).

    .venv/bin/python tools/web_screenshot.py [OUT.png]
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from chatbot import server, server_config
from chatbot.engine import Engine
from chatbot.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ["what is soft tissue sarcoma?", "I have a fever of 39 and I'm on chemo"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "web-chat.png"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = server_config.load(ROOT)
        cfg = replace(cfg, web=replace(cfg.web, enabled=True))
        app = server.create_app(Engine.load(ROOT), SQLiteStore(Path(tmp) / "s.db"), cfg)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=srv.run, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in [*FLAGS, f"--user-data-dir={tmp}/profile", "--window-size=900,900"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            wait = WebDriverWait(driver, 60)
            driver.get(f"http://127.0.0.1:{port}/")
            wait.until(lambda d: d.find_element(By.ID, "message").is_enabled())
            for i, text in enumerate(MESSAGES, 1):
                box = driver.find_element(By.ID, "message")
                box.send_keys(text, Keys.ENTER)
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#log .msg.bot")) == i)
            driver.find_element(By.ID, "message").send_keys("")     # focus back in the question box
            for _ in range(5):      # the window's own frame takes some of its height: grow until all fits
                short = driver.execute_script("return document.documentElement.scrollHeight - window.innerHeight")
                if short <= 0:
                    break
                driver.set_window_size(900, driver.get_window_size()["height"] + int(short))
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
            srv.should_exit = True
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
