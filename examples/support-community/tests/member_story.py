"""A member's own story, end to end in headless Chromium: edit the
profile, put a screenshot and a log file into a question (the composer's
upload with its progress bar; the log is linked and downloads as itself),
message an expert, then forget the password and get back in
through the e-mailed link (mail written as files by the demo's mailer).

Run by tests/browser.rs with HEARTH_URL, OUT_DIR, MAIL_DIR, SHOT and
DEMO_PASSWORD set.
"""

import email
import email.policy
import glob
import os
import re
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser_kit import (DEMO_PASSWORD, OUT, URL, driver, fill, run_story, sign_in, step, submit, wait)

MAIL = os.environ["MAIL_DIR"]
SHOT = os.environ["SHOT"]
ME = "anna_berg"


def reset_link():
    """The newest password-reset link mailed to the member."""
    deadline = time.time() + 30
    while time.time() < deadline:
        for path in sorted(glob.glob(os.path.join(MAIL, "*.eml")), reverse=True):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            if "Set a new password" not in str(msg["Subject"]):
                continue
            body = msg.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/users/password-reset/[0-9a-f]{64}", body)
            if found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError("no reset mail in " + MAIL)


def story():
    step("sign in and edit the profile")
    sign_in(ME, DEMO_PASSWORD)
    driver.get(URL + "/u/" + ME + "/preferences/profile")
    fill("bio", "Finance lead at Fjord Freight. I *love* clean ledgers.")
    fill("location", "Bergen")
    submit("form.prefs")
    # The form's own address contains /u/ME too: wait for the profile page
    # itself (its bio), not the address, or `main` may be the old page's.
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "main .bio em")))
    profile = driver.find_element(By.TAG_NAME, "main")
    assert profile.find_element(By.CSS_SELECTOR, ".bio em").text == "love", profile.text
    assert "Bergen" in profile.text, profile.text
    driver.save_screenshot(os.path.join(OUT, "profile.png"))

    step("a question with a screenshot, uploaded while writing")
    driver.get(URL + "/new-topic")
    fill("title", "Export to CSV stops with an error screen")
    Select(driver.find_element(By.ID, "category")).select_by_index(0)
    fill("raw", "The export stops here, see the screenshot:")
    driver.find_element(By.ID, "file").send_keys(SHOT)
    wait.until(lambda d: "](/uploads/" in d.find_element(By.ID, "raw").get_attribute("value"))
    status = driver.find_element(By.CSS_SELECTOR, ".upload-status").text
    assert "is in your post" in status, status
    assert driver.find_element(By.ID, "file").get_attribute("value") == "", "sent once"
    driver.save_screenshot(os.path.join(OUT, "composer-upload.png"))
    # And the export's log: a file, linked rather than shown.
    log = os.path.realpath(os.path.join(OUT, "export.log"))
    with open(log, "w") as f:
        f.write("2026-12-03 10:41:07 ERROR export: column 7 has no header\n")
    driver.find_element(By.ID, "file").send_keys(log)
    wait.until(lambda d: "\n[export.log](/uploads/" in d.find_element(By.ID, "raw").get_attribute("value"))
    submit("#new-topic")
    wait.until(EC.title_contains("Export to CSV stops"))
    images = driver.find_elements(By.CSS_SELECTOR, ".cooked img")
    assert images and "/uploads/" in images[0].get_attribute("src"), driver.page_source[:2000]
    src = images[0].get_attribute("src")
    assert src.startswith(URL + "/uploads/"), src
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", images[0]))
    link = driver.find_element(By.CSS_SELECTOR, ".cooked a[href$='.txt']")
    assert link.text == "export.log", link.text
    disposition = driver.execute_async_script(
        "var done = arguments[1]; fetch(arguments[0]).then(function (r) {"
        " return r.text().then(function (t) { done([r.headers.get('content-disposition'), t]); }); });",
        link.get_attribute("href"))
    assert disposition[0].startswith('attachment; filename="export.log"'), disposition
    assert "column 7 has no header" in disposition[1], disposition

    step("message an expert")
    driver.get(URL + "/messages/new")
    fill("to", "olga_mentor")
    fill("title", "Could you look at my export question?")
    fill("raw", "Hi Olga, the CSV export question I just asked is urgent for our month end.")
    submit("form.composer")
    wait.until(EC.title_contains("Could you look at my export"))
    driver.get(URL + "/messages/sent")
    assert "Could you look at my export" in driver.find_element(By.TAG_NAME, "main").text

    step("forget the password, get back in from the e-mail")
    driver.delete_all_cookies()
    driver.get(URL + "/password-reset")
    fill("login", ME)
    submit("form.auth")
    wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "Check your e-mail"))
    link = reset_link()
    driver.get(link)
    fill("password", "a fresh browser passphrase")
    submit("form.auth")
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, ME)))
    driver.delete_all_cookies()
    sign_in(ME, "a fresh browser passphrase")
    driver.save_screenshot(os.path.join(OUT, "back-in.png"))


run_story("member story", story)
