"""The portal in a real browser: a ``streamlit run`` server and headless Debian Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from hub_api.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
    "--force-device-scale-factor=1",
    "--lang=ko-KR",
)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextmanager
def streamlit_server(api_url: str, *, timeout: float = 60) -> Iterator[str]:
    """``streamlit run portal/streamlit_app.py`` against ``api_url``; yields the portal's URL."""
    port = free_port()
    env = os.environ | {"AXHUB_API_URL": api_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "portal/streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--client.toolbarMode",
        "viewer",
        "--server.fileWatcherType",
        "none",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start:\n{log.read().decode()}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


class Browser:
    """Just enough Selenium to drive Streamlit widgets by their visible labels."""

    def __init__(self, base_url: str, *, wait_s: float = 30) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix="axhub-chromium-")
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.base_url = base_url
        self.wait_s = wait_s

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def wait(self, seconds: float | None = None) -> WebDriverWait:
        return WebDriverWait(self.driver, seconds or self.wait_s, poll_frequency=0.3)

    def open(self) -> None:
        self.driver.get(self.base_url)
        self.settled()

    def settled(self, seconds: float = 30) -> None:
        """Wait until Streamlit has finished running the script (no 'running' indicator)."""
        time.sleep(0.4)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            running = self.driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
            if not running:
                return
            time.sleep(0.3)

    def text_present(self, text: str, seconds: float | None = None) -> None:
        xpath = f"//*[contains(normalize-space(.), {_literal(text)})]"
        try:
            self.wait(seconds).until(ec.presence_of_element_located((By.XPATH, xpath)))
        except TimeoutException as exc:
            body = self.driver.find_element(By.TAG_NAME, "body").text[-3000:]
            raise AssertionError(f"{text!r} never appeared; page shows:\n{body}") from exc

    def fill(self, label: str, value: str) -> None:
        field = self.wait().until(
            ec.element_to_be_clickable(
                (By.XPATH, f"//*[self::input or self::textarea][@aria-label={_literal(label)}]")
            )
        )
        field.click()
        field.send_keys(Keys.CONTROL + "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(value)

    def button(self, text: str) -> WebElement:
        literal = _literal(text)
        xpath = f"//button[normalize-space(.)={literal} or .//p[normalize-space(.)={literal}]]"
        element: WebElement = self.wait().until(ec.element_to_be_clickable((By.XPATH, xpath)))
        return element

    def click(self, text: str) -> None:
        element = self.button(text)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        self.settled()

    def click_text(self, text: str) -> None:
        xpath = f"//*[normalize-space(text())={_literal(text)}]"
        element = self.wait().until(ec.element_to_be_clickable((By.XPATH, xpath)))
        element.click()
        self.settled()

    def nav(self, title: str) -> None:
        """Follow a sidebar link by its title (client-side: the session and login stay)."""
        xpath = (
            f'//*[@data-testid="stSidebarNav"]//a[.//span[normalize-space(.)={_literal(title)}]]'
        )
        link = self.wait().until(ec.element_to_be_clickable((By.XPATH, xpath)))
        link.click()
        self.settled()

    def choose_language(self, name: str) -> None:
        """Pick a language in the sidebar's selectbox (a combobox: open it, click the option)."""
        opener = self.wait().until(
            ec.element_to_be_clickable(
                (By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stSelectbox"] button')
            )
        )
        opener.click()
        option = self.wait().until(
            ec.element_to_be_clickable(
                (By.XPATH, f'//*[@role="option"][normalize-space(.)={_literal(name)}]')
            )
        )
        option.click()
        self.settled()

    def charts(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.settled()
        time.sleep(1.0)  # let charts finish drawing
        height = self.driver.execute_script(
            "const m = document.querySelector('[data-testid=\"stMain\"]');"
            "return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);"
        )
        self.driver.set_window_size(1440, min(max(int(height) + 40, 900), 2600))
        self.driver.execute_script(
            "window.scrollTo(0, 0);"
            "const m = document.querySelector('[data-testid=\"stMain\"]');"
            "if (m) { m.scrollTo(0, 0); }"
        )
        time.sleep(0.6)
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1440, 1000)

    def login(self, email: str, password: str) -> None:
        self.fill("이메일", email)
        self.fill("비밀번호", password)
        self.click("로그인")

    def logout(self) -> None:
        self.click("로그아웃")


def _literal(text: str) -> str:
    """An XPath string literal for ``text`` (which may contain quotes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ', "\'", '.join(f"'{p}'" for p in parts) + ")"
