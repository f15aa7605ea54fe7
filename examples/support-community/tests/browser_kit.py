"""What the browser stories share: headless Chromium (Debian's, without a
sandbox, GPU or background networking) driven by Selenium, the demo's
address and password from the environment, and the steps every story
takes. Imported by browser.py and member_story.py (run from this folder).
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["HEARTH_URL"]
OUT = os.environ["OUT_DIR"]
DEMO_PASSWORD = os.environ["DEMO_PASSWORD"]

_options = webdriver.ChromeOptions()
_options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for _arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--window-size=1280,1600"]:
    _options.add_argument(_arg)
driver = webdriver.Chrome(
    service=Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")),
    options=_options,
)
wait = WebDriverWait(driver, 15)


def step(what):
    print(f"step: {what}", flush=True)


def fill(name, value):
    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def submit(form_css):
    driver.find_element(By.CSS_SELECTOR, form_css + " button[type=submit]").click()


def sign_out():
    driver.find_element(By.CSS_SELECTOR, "form[action$='/logout'] button").click()
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, "Sign in")))


def sign_in(login, password):
    driver.get(URL + "/login")
    fill("login", login)
    fill("password", password)
    submit("form.auth[action$='/login']")
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, login)))


def severe_console_errors():
    """Script errors and CSP violations the page logged."""
    return [e.get("message") for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def run_story(name, story):
    """Runs `story()`, then checks the console; on failure keeps a
    screenshot and the page for the log. Always closes the browser."""
    try:
        story()
        step("no script errors and no CSP violations")
        errors = severe_console_errors()
        assert not errors, errors
        print(f"{name} passed")
    except Exception:
        driver.save_screenshot(os.path.join(OUT, f"{name.replace(' ', '-')}-failure.png"))
        print("page at failure:", driver.current_url, file=sys.stderr)
        print(driver.page_source[:4000], file=sys.stderr)
        raise
    finally:
        driver.quit()
