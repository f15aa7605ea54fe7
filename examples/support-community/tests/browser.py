"""End to end in headless Chromium: sign up, create a topic (seeing similar
topics while typing the title), reply, accept an answer, search for it,
react to a post through a plugin's action, see the escape-hatch footer,
assign the topic to a staff member through the assign plugin (then find
it on the list and under "assigned to me"), vote in the announcement's
poll (the polls plugin) and change the vote, and take screenshots.

Run by tests/browser.rs with HEARTH_URL, OUT_DIR and DEMO_PASSWORD set.
"""

import os
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from browser_kit import (DEMO_PASSWORD, OUT, URL, driver, fill, run_story, sign_in, sign_out, step, submit, wait)

def story():
    step("sign up")
    driver.get(URL + "/signup")
    fill("username", "bea_browser")
    fill("email", "bea@example.com")
    fill("password", "a long browser password")
    submit("form.auth")
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, "bea_browser")))

    step("the escape-hatch footer is on the page")
    footer = driver.find_element(By.CSS_SELECTOR, "footer.site").text
    assert "support" in footer.lower(), footer
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "footer.site a")]
    assert any("support.example.com" in (h or "") for h in links), links

    step("similar topics appear while the title is typed")
    driver.get(URL + "/new-topic")
    title = driver.find_element(By.ID, "title")
    for ch in "Configure webhook retries for Integration Suite":
        title.send_keys(ch)
        time.sleep(0.01)
    wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#similar li a")))
    suggestions = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#similar li a")]
    assert any("webhook retries" in s.lower() for s in suggestions), suggestions
    driver.save_screenshot(os.path.join(OUT, "composer-suggestions.png"))

    step("create the topic")
    Select(driver.find_element(By.ID, "category")).select_by_visible_text("Integration Suite Q&A")
    fill("tags", "integration-suite")
    fill("raw", "Our endpoint sometimes needs 40 seconds. Does the suite retry, and how often?")
    submit("#new-topic")
    wait.until(EC.title_contains("Configure webhook retries"))
    topic_url = driver.current_url
    assert "/t/configure-webhook-retries-for-integration-suite/" in topic_url, topic_url

    step("an expert replies")
    sign_out()
    sign_in("olga_mentor", DEMO_PASSWORD)
    driver.get(topic_url)
    fill("raw", "Yes: three retries with exponential backoff (1, 5 and 25 minutes). Return 2xx quickly and queue the work.")
    submit("form.composer")
    wait.until(EC.presence_of_element_located((By.ID, "post-2")))

    step("the asker accepts the answer")
    sign_out()
    sign_in("bea_browser", "a long browser password")
    driver.get(topic_url)
    driver.find_element(By.XPATH, "//button[normalize-space()='Accept answer']").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".accepted-answer")))
    accepted = driver.find_element(By.CSS_SELECTOR, ".accepted-answer").text
    assert "exponential backoff" in accepted, accepted
    driver.save_screenshot(os.path.join(OUT, "topic-accepted.png"))

    step("a reaction, through the reactions plugin's action, without JavaScript")
    first = driver.find_element(By.ID, "post-1")
    button = first.find_element(By.XPATH, ".//div[contains(@class,'plugin-reactions')]//button[starts-with(normalize-space(), '🎉')]")
    assert button.text.strip() == "🎉", button.text
    button.click()
    wait.until(EC.presence_of_element_located((By.XPATH, "//article[@id='post-1']//button[contains(@class,'reactions-mine')]")))
    mine = driver.find_element(By.XPATH, "//article[@id='post-1']//button[contains(@class,'reactions-mine')]").text
    assert mine.strip() == "🎉 1", mine
    assert driver.current_url.split("#")[0] == topic_url.split("#")[0], driver.current_url

    step("search finds it")
    driver.get(URL + "/search")
    fill("q", "retries exponential backoff")
    driver.find_element(By.NAME, "solved").click()
    submit("form.search")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "ol.results")))
    results = driver.find_element(By.CSS_SELECTOR, "ol.results").text
    assert "Configure webhook retries for Integration Suite" in results, results
    marks = driver.find_elements(By.CSS_SELECTOR, "ol.results mark")
    assert marks, "highlighted snippets"
    driver.save_screenshot(os.path.join(OUT, "search.png"))

    step("staff take the question from its page (the assign plugin), without JavaScript")
    sign_out()
    sign_in("sam_support", DEMO_PASSWORD)
    driver.get(topic_url)
    driver.find_element(By.XPATH, "//div[contains(@class,'assign-status')]//button[normalize-space()='Assign to me']").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".assign-status"), "Assigned to sam_support"))
    driver.get(URL + "/latest")
    row = driver.find_element(By.XPATH, "//a[normalize-space()='Configure webhook retries for Integration Suite']/ancestor::*[self::li or self::tr][1]")
    assert "👤 sam_support" in row.text, row.text
    driver.get(URL + "/plugins/assign/mine")
    mine = driver.find_element(By.TAG_NAME, "main").text
    assert "Configure webhook retries for Integration Suite" in mine, mine

    step("vote in the announcement's poll and change the vote (the polls plugin), without JavaScript")
    driver.get(URL + "/search?q=maintenance+window+poll")
    driver.find_element(By.PARTIAL_LINK_TEXT, "Help us pick the next maintenance window").click()
    poll = driver.find_element(By.CSS_SELECTOR, ".hearth-markup-polls")
    assert "Which window suits your team best?" in poll.text, poll.text
    results = driver.find_element(By.CSS_SELECTOR, ".polls-results")
    before = results.text
    assert "voters" in before, before
    driver.find_element(By.XPATH, "//div[contains(@class,'polls-results')]//button[normalize-space()='Vote for Wednesday 03:00–05:00 UTC']").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".polls-results"), "✓ your vote"))
    driver.find_element(By.XPATH, "//div[contains(@class,'polls-results')]//button[normalize-space()='Vote for Sunday 02:00–04:00 UTC']").click()
    wait.until(EC.presence_of_element_located((By.XPATH, "//div[contains(@class,'polls-results')]//button[normalize-space()='Take back my vote for Sunday 02:00–04:00 UTC']")))
    driver.save_screenshot(os.path.join(OUT, "poll.png"))


run_story("browser flow", story)
