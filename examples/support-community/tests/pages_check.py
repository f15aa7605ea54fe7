"""Every main page of the support demo, in headless Chromium, at a desktop
width (1280 px) and a phone's (390 px), light and dark: nothing wider than
the window (also at 360 and 414 px), axe-core finds no serious or critical accessibility violation,
touch targets on the phone are at least 44 px tall; then sign-in and a
reply by keyboard alone (the skip link first). Screenshots of each page go
to OUT_DIR for people to look at.

axe-core comes from the npm registry (a pinned version, checked against
the registry's published SHA-512) and is cached in AXE_CACHE; it is put
into each page through WebDriver, so the page's own CSP stays as strict as
it is.

Run by tests/browser.rs with HEARTH_URL, OUT_DIR, AXE_CACHE, AXE_SHA512
and DEMO_PASSWORD set; with PAGES set (another demo's pages), those pages
are checked, MEMBER signs in and replies by keyboard, then the admin's
analytics are checked as ADMIN.
"""

import base64
import glob
import hashlib
import io
import os
import tarfile
import urllib.request

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from browser_kit import DEMO_PASSWORD, OUT, URL, driver, run_story, sign_in, sign_out, step, wait

AXE_VERSION = "4.10.3"
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
AXE_SHA512 = os.environ.get("AXE_SHA512")  # set by browser.rs
WIDTHS = [1280, 390]
# Impacts that fail the check (axe's four: minor, moderate, serious, critical).
FAILING = {"serious", "critical"}


def axe_source():
    """axe.min.js, downloaded once and kept beside the other test tools."""
    cache = os.path.join(os.environ["AXE_CACHE"], f"axe-{AXE_VERSION}.min.js")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            return f.read()
    with urllib.request.urlopen(AXE_TARBALL, timeout=120) as res:
        tgz = res.read()
    digest = base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    assert digest == AXE_SHA512, f"axe-core {AXE_VERSION}: sha512-{digest}, expected sha512-{AXE_SHA512}"
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        source = tar.extractfile("package/axe.min.js").read().decode("utf-8")
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache + ".part", "w", encoding="utf-8") as f:
        f.write(source)
    os.replace(cache + ".part", cache)
    return source


AXE = axe_source()
problems = []
# Screenshots of an earlier run would mislead whoever looks at them.
for old in glob.glob(os.path.join(OUT, "*.png")):
    os.remove(old)


def color_scheme(scheme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def overflow_only(path, width):
    """The phone widths between the checked ones: nothing wider than the
    window (no axe run, no screenshot)."""
    driver.set_window_size(width, 900)
    driver.get(URL + path)
    wide, window = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    if wide > window:
        problems.append(f"{path} at {width} px: {wide} px wide in a {window} px window")


def check_page(path, name, width, scheme="light"):
    """Loads `path` at `width`, checks overflow, axe and (on a phone)
    touch targets, and keeps a screenshot."""
    driver.set_window_size(width, 900)
    color_scheme(scheme)
    driver.get(URL + path)
    where = f"{path} at {width} px, {scheme}"
    overflow = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth,"
        " [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        "  > document.documentElement.clientWidth + 1 && getComputedStyle(e).position !== 'absolute')"
        "  .filter(e => !e.closest('pre, .cooked table, header.site nav')).slice(0, 3)"
        "  .map(e => e.tagName + '.' + e.className)]")
    if overflow[0] > overflow[1]:
        problems.append(f"{where}: {overflow[0]} px wide in a {overflow[1]} px window ({overflow[2]})")
    for v in axe_violations():
        line = f"{where}: axe {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
        print(line)
        if v["impact"] in FAILING:
            problems.append(line)
    if width < 500:
        small = driver.execute_script(
            "return [...document.querySelectorAll('header.site a, header.site button, main button,"
            " main .button, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select')]"
            " .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)"
            " .slice(0, 5).map(e => e.outerHTML.slice(0, 80) + ' ' + e.getBoundingClientRect().height)")
        for s in small:
            problems.append(f"{where}: touch target under 44 px: {s}")
    h = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(h, 2400))
    driver.save_screenshot(os.path.join(OUT, f"{name}-{width}-{scheme}.png"))


def tab_to(predicate_js, limit=80):
    """Presses Tab until the focused element satisfies `predicate_js`
    (an expression over `e`); fails after `limit` presses."""
    for _ in range(limit):
        # Keys to the window, as a keyboard would send them (a file field's
        # element would take typed keys as a file name).
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script(f"const e = document.activeElement; return !!({predicate_js});"):
            return driver.switch_to.active_element
    raise AssertionError(f"Tab never reached {predicate_js}")


def guest_pages():
    """The pages to check: PAGES from the environment ("path name" per
    line, `{topic}` standing for the newest topic), or the support demo's."""
    driver.get(URL + "/latest")
    topic = driver.find_element(By.CSS_SELECTOR, "table.topics a.title").get_attribute("href")
    topic_path = topic[len(URL):]
    listed = os.environ.get("PAGES")
    if listed:
        pages = [tuple(line.split()) for line in listed.strip().splitlines()]
    else:
        pages = [
            ("/", "home"), ("/latest", "latest"), ("{topic}", "topic"),
            ("/search?q=connector", "search"), ("/kb", "knowledge-base"),
            ("/u/olga_mentor", "profile"), ("/plugins/leaderboard", "leaderboard"),
            ("/login", "sign-in"),
        ]
    return topic, [(path.replace("{topic}", topic_path), name) for path, name in pages]


def axe_violations():
    driver.execute_script(AXE)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v =>"
        " ({id: v.id, impact: v.impact, help: v.help,"
        "   nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))));")


def keyboard_story(login, topic):
    """Signs `login` in and replies to `topic` with the keyboard alone,
    starting from the skip link."""
    step("sign in by keyboard alone, starting from the skip link")
    driver.set_window_size(390, 900)
    driver.get(URL + "/login")
    ActionChains(driver).send_keys(Keys.TAB).perform()
    skip = driver.switch_to.active_element
    assert skip.get_attribute("class") == "skip", skip.get_attribute("outerHTML")
    assert skip.is_displayed() and skip.rect["y"] >= 0, "the skip link shows when focused"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert driver.execute_script("return document.activeElement.id") == "content", "the skip link moves focus to the page's content"
    tab_to("e.name === 'login'")
    outline = driver.execute_script(
        "const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth];")
    assert outline[0] != "none" and outline[1] != "0px", f"focus is visible: {outline}"
    ActionChains(driver).send_keys(login).perform()
    tab_to("e.name === 'password'")
    ActionChains(driver).send_keys(DEMO_PASSWORD + Keys.ENTER).perform()
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, login)))

    step("reply by keyboard alone")
    driver.get(topic)
    tab_to("e.tagName === 'TEXTAREA' && e.name === 'raw'", limit=200)
    ActionChains(driver).send_keys("Thanks, written without a mouse, from a phone-sized window.").perform()
    tab_to("e.tagName === 'BUTTON' && e.type === 'submit' && e.form && e.form.querySelector('textarea[name=raw]')")
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait.until(EC.presence_of_element_located(
        (By.XPATH, "//article[contains(., 'written without a mouse')]")))


def story():
    step("the checks can fail: a page with an unlabelled field, faint text and a wide box")
    driver.set_window_size(390, 900)
    driver.get("data:text/html,<!doctype html><html lang=en><title>bad</title><main><input>"
               "<p style='color:%23ddd'>faint</p><div style='width:900px'>wide</div></main>")
    found = {v["id"] for v in axe_violations() if v["impact"] in FAILING}
    assert {"label", "color-contrast"} <= found, found
    assert driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")

    topic, pages = guest_pages()
    topic_path = topic[len(URL):]
    for width in WIDTHS:
        for path, name in pages:
            step(f"{name} at {width} px")
            check_page(path, name, width)
    step("the smallest and largest common phones: 360 and 414 px")
    for path, _ in pages:
        overflow_only(path, 360)
        overflow_only(path, 414)
    for path, name in [("/", "home"), (topic_path, "topic")]:
        step(f"{name} in the dark scheme")
        check_page(path, name, 390, "dark")
        check_page(path, name, 1280, "dark")
    color_scheme("light")
    if os.environ.get("PAGES"):
        keyboard_story(os.environ["MEMBER"], topic)
        sign_out()
        step("the admin's analytics")
        sign_in(os.environ["ADMIN"], DEMO_PASSWORD)
        for width in WIDTHS:
            check_page("/admin/analytics", "analytics", width)
        assert not problems, "\n".join(problems)
        return

    keyboard_story("maya", topic)

    step("signed-in pages, the admin's analytics")
    for width in WIDTHS:
        for path, name in [(topic_path, "topic-member"), ("/new-topic", "new-topic"),
                           ("/notifications", "notifications"), ("/messages", "messages"),
                           ("/u", "members"), ("/u/maya", "own-profile"),
                           ("/admin/analytics", "analytics")]:
            check_page(path, name, width)

    assert not problems, "\n".join(problems)


run_story("pages check", story)
