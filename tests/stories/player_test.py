"""The web player in a real browser: Debian's headless Chromium driven by
Selenium, against a real plotforge-run serve (with an API key) and a real
SQLite file. Creates a story, watches the candidates stream in, chooses,
reloads and finds the story and its path, generates by keyboard, undoes,
exports Twee, and fits a phone-sized screen. With PLAYER_SCREENSHOT set,
saves a picture of the player mid-story there."""
import glob
import os
import sys
import tempfile
import time
import unittest

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serving"))
from server_process import ServerProcess  # noqa: E402

BIN = os.environ["PLOTFORGE_RUN"]
BUNDLE = os.environ["SERVING_BUNDLE"]

# Counts the text changes inside candidates still streaming.
WATCH_STREAM = """
window.streamUpdates = 0;
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (el && el.closest('.candidate.streaming')) window.streamUpdates++;
  }
}).observe(document.getElementById('candidates'), {subtree: true, childList: true, characterData: true});
"""


class Player(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.server = ServerProcess(BIN, BUNDLE, "--db", os.path.join(self.dir.name, "s.db"), "--api-key", "k3y")
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1000"):
            opts.add_argument(a)
        self.downloads = os.path.join(self.dir.name, "downloads")
        opts.add_experimental_option("prefs", {"download.default_directory": self.downloads,
                                               "download.prompt_for_download": False})
        self.browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.wait = WebDriverWait(self.browser, 60)

    def tearDown(self):
        self.browser.quit()
        self.assertEqual(self.server.stop(), 0, self.server.stderr())
        self.dir.cleanup()

    def find(self, css):
        return self.browser.find_elements(By.CSS_SELECTOR, css)

    def texts(self, css):
        # Read in one script: the player re-renders, so held elements go stale.
        return self.browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)", css)

    def passages(self):
        return self.texts("#story-text .passage")

    def test_play_a_story(self):
        b = self.browser
        b.get(self.server.url + "/")
        key = b.find_element(By.ID, "api-key")
        key.send_keys("k3y")
        key.send_keys(Keys.TAB)  # "change": kept in sessionStorage
        b.find_element(By.ID, "title").send_keys("Elsinore")
        b.find_element(By.ID, "premise").send_keys("INT. CASTLE - NIGHT\n\nHORATIO waits for the ghost.")
        b.find_element(By.ID, "genre").send_keys("tragedy")
        b.execute_script(WATCH_STREAM)
        b.find_element(By.ID, "create").click()
        self.wait.until(lambda _: len(self.find("#candidates .choice")) == 3)
        self.assertGreater(b.execute_script("return window.streamUpdates"), 3, "no streamed text was seen")
        self.assertIn("#st_", b.current_url)
        chosen = self.texts("#candidates .candidate-text")[1]
        self.find("#candidates .choice")[1].click()
        self.wait.until(lambda _: len(self.passages()) == 2)
        self.assertEqual(self.passages()[1], chosen)
        # A reload finds the story and its path as they were.
        b.refresh()
        self.wait.until(lambda _: len(self.passages()) == 2)
        self.assertEqual(self.passages()[1], chosen)
        self.assertEqual(len(self.find("#tree li.on-path")), 2)
        # By keyboard: g generates, 1 chooses.
        b.find_element(By.TAG_NAME, "body").send_keys("g")
        self.wait.until(lambda _: len(self.find("#candidates .choice")) == 3)
        shot = os.environ.get("PLAYER_SCREENSHOT")
        if shot:
            b.set_window_size(1100, 1900)  # the story, the choices and the tree in one picture
            b.save_screenshot(shot)
            b.set_window_size(1100, 1000)
        b.find_element(By.TAG_NAME, "body").send_keys("1")
        self.wait.until(lambda _: len(self.passages()) == 3)
        b.find_element(By.ID, "undo").click()
        self.wait.until(lambda _: len(self.passages()) == 2)
        self.assertEqual(len(self.find("#candidates .choice")), 3)  # the choices are back
        b.find_element(By.ID, "export-twee").click()
        deadline = time.time() + 30
        while not glob.glob(os.path.join(self.downloads, "*.twee")) and time.time() < deadline:
            time.sleep(0.1)
        files = glob.glob(os.path.join(self.downloads, "*.twee"))
        self.assertEqual(len(files), 1)
        with open(files[0]) as f:
            twee = f.read()
        self.assertIn(":: StoryData", twee)
        self.assertIn("->p", twee)
        # Phone-sized: nothing wider than the screen.
        b.set_window_size(390, 844)
        self.assertLessEqual(b.execute_script("return document.documentElement.scrollWidth"),
                             b.execute_script("return window.innerWidth"))

    def test_audience_page(self):
        # Two viewers play through the API; the page shows what they did.
        def call(method, path, body=None):
            got, data = self.server.request(method, path, body, headers={"Authorization": "Bearer k3y"})
            self.assertIn(got, (200, 201), data)
            return data
        st = call("POST", "/v1/stories", {"title": "Watched", "premise": "INT. HALL - DAY\n\n"})
        kids = call("POST", "/v1/stories/%s/branches" % st["id"], {"k": 2, "max_tokens": 8})["passages"]
        for viewer, pick in (("ann", 0), ("bob", 0), ("cy", 1)):
            call("POST", "/v1/stories/%s/choose" % st["id"], {"node": kids[pick]["id"], "viewer": viewer})
        b = self.browser
        b.get(self.server.url + "/analytics.html")
        key = b.find_element(By.ID, "api-key")
        key.send_keys("k3y")
        key.send_keys(Keys.TAB)
        self.wait.until(lambda _: "Watched" in " ".join(self.texts("#stories-table tbody td")))
        row = self.texts("#stories-table tbody tr")[0]
        self.assertIn("4", row)  # ann, bob, cy and the story's own player
        b.get(self.server.url + "/analytics.html#" + st["id"])
        self.wait.until(lambda _: len(self.find("#passages tbody tr")) == 3)
        self.assertIn("4 viewers", b.find_element(By.ID, "one-summary").text)
        shares = self.texts("#passages tbody tr:first-child .bar")
        self.assertEqual(sorted(shares), sorted(["%d: 67%%" % kids[0]["id"], "%d: 33%%" % kids[1]["id"]]))
        self.assertIn("passage %d: 4 viewers" % st["root"], self.texts("#funnel .bar")[0])

    def test_without_the_key_the_player_says_what_is_wrong(self):
        self.browser.get(self.server.url + "/")
        self.wait.until(lambda _: "Error" in self.browser.find_element(By.ID, "status").text)
        self.assertIn("API key", self.browser.find_element(By.ID, "status").text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
