"""The story API (/v1/stories) on a real plotforge-run serve process and a
real SQLite file: the tree and its actions, errors, exports checked by an
independent Twee 3 reader and by `plotforge inspect`, crash safety under
kill -9, resumption after a restart, and 16 concurrent players. Run by CTest
with PLOTFORGE_RUN, PLOTFORGE (the toolkit, for inspect) and SERVING_BUNDLE."""
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import socket

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serving"))
from server_process import ServerProcess  # noqa: E402

BIN = os.environ["PLOTFORGE_RUN"]
PF = os.environ["PLOTFORGE"]
BUNDLE = os.environ["SERVING_BUNDLE"]
CLASSIFIER = os.path.join(os.path.dirname(BUNDLE), "classifier")  # tests/serving/make_bundle.sh
PREMISE = ("INT. CASTLE BATTLEMENTS - NIGHT\n\nA cold wind. HORATIO and MARCELLUS wait for the ghost.\n\n"
           "HORATIO\nWhat, has this thing appear'd again tonight?\n")


def metric(server, name):
    _, text = server.get("/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def read_twee(text):
    """A Twee 3 reader written from the specification (twine-specs/twee-3):
    passages start with a line '::' name [tags] {metadata}; returns
    {name: (tags, body)}. Escapes (backslash before a special character)
    are undone in names."""
    passages, name, tags, body = {}, None, [], []
    header = re.compile(r"^::\s*((?:\\.|[^\\\[{])+?)\s*(?:\[([^\]]*)\])?\s*(\{.*\})?\s*$")
    for line in text.split("\n"):
        if line.startswith("::"):
            if name is not None:
                passages[name] = (tags, "\n".join(body).strip("\n"))
            m = header.match(line)
            assert m, "bad passage header: %r" % line
            name = re.sub(r"\\(.)", r"\1", m.group(1))
            tags = (m.group(2) or "").split()
            if m.group(3):
                json.loads(m.group(3))
            body = []
        else:
            body.append(line)
    if name is not None:
        passages[name] = (tags, "\n".join(body).strip("\n"))
    return passages


def twee_links(body):
    """Targets of [[...]] links: [[text->target]], [[target<-text]], [[text|target]], [[target]]."""
    out = []
    for m in re.finditer(r"(?<!\\)\[\[(.*?)(?<!\\)\]\]", body):
        link = m.group(1)
        if "->" in link:
            out.append(link.rsplit("->", 1)[1])
        elif "<-" in link:
            out.append(link.split("<-", 1)[0])
        elif "|" in link:
            out.append(link.rsplit("|", 1)[1])
        else:
            out.append(link)
    return out


class StoryServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.db = os.path.join(cls.dir.name, "stories.db")
        cls.server = ServerProcess(BIN, BUNDLE, "--db", cls.db)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, cls.server.stderr()
        cls.dir.cleanup()

    def call(self, method, path, body=None, status=200):
        got, data = self.server.request(method, path, body)
        self.assertEqual(got, status, data)
        return data

    def new_story(self, **kw):
        body = dict({"title": "Elsinore", "premise": PREMISE, "genre": "tragedy"}, **kw)
        return self.call("POST", "/v1/stories", body, 201)

    def test_create_branch_choose_retry_undo_edit(self):
        st = self.new_story()
        sid, root = st["id"], st["root"]
        self.assertEqual(st["path"], [root])
        self.assertEqual(st["passages"][0]["text"], PREMISE)
        hits0 = metric(self.server, "plotforge:prefix_cache_hits_total")
        out = self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 4, "max_tokens": 24, "seed": 1}, 201)
        cands = [p["id"] for p in out["passages"]]
        self.assertEqual(len(cands), 4)
        self.assertTrue(all(p["parent"] == root and p["author"] == "model" for p in out["passages"]))
        # The same node again: its prefix comes from the prefix cache.
        out2 = self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 4, "max_tokens": 24, "seed": 9}, 201)
        self.assertGreater(metric(self.server, "plotforge:prefix_cache_hits_total"), hits0)
        tree = self.call("POST", "/v1/stories/%s/choose" % sid, {"node": cands[2]})
        self.assertEqual(tree["path"], [root, cands[2]])
        self.assertEqual(tree["current"], cands[2])
        # Retry at the root replaces the candidates off the path, keeps the chosen one.
        self.call("POST", "/v1/stories/%s/undo" % sid, {})
        tree = self.call("GET", "/v1/stories/%s" % sid)
        self.assertEqual(tree["current"], root)
        self.call("POST", "/v1/stories/%s/choose" % sid, {"node": cands[2]})
        child = self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 2, "max_tokens": 8}, 201)["passages"]
        self.call("POST", "/v1/stories/%s/choose" % sid, {"node": child[0]["id"]})
        self.call("POST", "/v1/stories/%s/undo" % sid, {})
        self.call("POST", "/v1/stories/%s/undo" % sid, {})
        retried = self.call("POST", "/v1/stories/%s/retry" % sid, {"k": 3, "max_tokens": 8}, 201)
        tree = self.call("GET", "/v1/stories/%s" % sid)
        root_children = next(p for p in tree["passages"] if p["id"] == root)["children"]
        kept = [cands[2]] + [p["id"] for p in retried["passages"]]
        self.assertEqual(sorted(root_children), sorted(kept))  # cands[2] has a child: kept
        for gone in cands[:2] + cands[3:] + [p["id"] for p in out2["passages"]]:
            self.assertEqual(self.server.request("POST", "/v1/stories/%s/choose" % sid, {"node": gone})[0], 404)
        # Edit a leaf: later generation continues from the writer's text.
        leaf = retried["passages"][0]["id"]
        self.call("POST", "/v1/stories/%s/choose" % sid, {"node": leaf})
        tree = self.call("POST", "/v1/stories/%s/edit" % sid, {"node": leaf, "text": "HAMLET\nSpeak; I am bound."})
        edited = next(p for p in tree["passages"] if p["id"] == leaf)
        self.assertEqual((edited["text"], edited["author"]), ("HAMLET\nSpeak; I am bound.", "human"))
        self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 1, "max_tokens": 4}, 201)
        self.call("POST", "/v1/stories/%s/dwell" % sid, {"node": leaf, "seconds": 2.5})
        # Every action is an event, in the database file itself.
        with sqlite3.connect(self.db) as c:
            kinds = [k for (k,) in c.execute("SELECT kind FROM events WHERE story = ? ORDER BY id", (sid,))]
        self.assertEqual(kinds, ["create", "branches", "branches", "choose", "undo", "choose", "branches", "choose",
                                 "undo", "undo", "retry", "choose", "edit", "branches", "dwell"])

    def test_streamed_branches_end_with_the_stored_passages(self):
        sid = self.new_story()["id"]
        u = urllib.parse.urlparse(self.server.url)
        s = socket.create_connection((u.hostname, u.port), timeout=60)
        payload = json.dumps({"k": 3, "max_tokens": 16, "stream": True, "seed": 4}).encode()
        s.sendall(b"POST /v1/stories/" + sid.encode() + b"/branches HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                  str(len(payload)).encode() + b"\r\n\r\n" + payload)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
        s.close()
        events = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
        self.assertEqual(events[-1], "[DONE]")
        final = json.loads(events[-2])
        streamed = [json.loads(e) for e in events[:-2]]
        self.assertEqual(len(final["passages"]), 3)
        self.assertEqual({e["candidate"] for e in streamed}, {0, 1, 2})
        tree = self.call("GET", "/v1/stories/%s" % sid)
        stored = {p["id"]: p["text"] for p in tree["passages"]}
        for p in final["passages"]:
            self.assertEqual(stored[p["id"]], p["text"])

    def test_bad_requests_get_a_clear_4xx(self):
        a = self.new_story()
        b = self.new_story()
        b_child = self.call("POST", "/v1/stories/%s/branches" % b["id"], {"k": 1, "max_tokens": 4}, 201)
        b_node = b_child["passages"][0]["id"]
        a_child = self.call("POST", "/v1/stories/%s/branches" % a["id"], {"k": 1, "max_tokens": 4}, 201)
        a_node = a_child["passages"][0]["id"]
        self.call("POST", "/v1/stories/%s/choose" % a["id"], {"node": a_node})
        self.call("POST", "/v1/stories/%s/branches" % a["id"], {"k": 1, "max_tokens": 4}, 201)
        sid = a["id"]
        cases = [
            ("GET", "/v1/stories/st_0000000000000000", None, 404, None),
            ("POST", "/v1/stories/st_0000000000000000/branches", {}, 404, None),
            ("POST", "/v1/stories/%s/branches" % sid, {"node": 999999}, 404, "node"),
            ("POST", "/v1/stories/%s/choose" % sid, {"node": b_node}, 404, "node"),  # another story's node
            ("POST", "/v1/stories/%s/choose" % sid, {"node": a["root"]}, 409, "node"),  # not a candidate
            ("POST", "/v1/stories/%s/choose" % sid, {}, 400, "node"),
            ("POST", "/v1/stories/%s/choose" % sid, {"node": "x"}, 400, "node"),
            ("POST", "/v1/stories/%s/edit" % sid, {"node": a_node, "text": "x"}, 409, "node"),  # has children
            ("POST", "/v1/stories/%s/edit" % sid, {"node": a_node, "text": "x" * 20000}, 413, "text"),
            ("POST", "/v1/stories/%s/branches" % sid, {"k": 0}, 400, "k"),
            ("POST", "/v1/stories/%s/branches" % sid, {"k": 17}, 400, "k"),
            ("POST", "/v1/stories/%s/branches" % sid, {"beat": "space_opera"}, 400, "beat"),
            ("POST", "/v1/stories/%s/branches" % sid, {"temprature": 1}, 400, "temprature"),
            ("POST", "/v1/stories/%s/branches" % sid, b"{oops", 400, None),
            ("POST", "/v1/stories", {"title": "no premise"}, 400, "premise"),
            ("POST", "/v1/stories", {"premise": "x", "genre": "space_opera"}, 400, "genre"),
            ("POST", "/v1/stories", {"fountain": "Title: T\n\n/* unterminated"}, 400, None),
            ("POST", "/v1/stories", {"premise": "x" * 20000}, 400, "premise"),
            ("GET", "/v1/stories/%s/export?format=docx" % sid, None, 400, "format"),
            ("GET", "/v1/stories?limit=0", None, 400, "limit"),
            ("POST", "/v1/stories/%s/dwell" % sid, {"node": a_node, "seconds": -1}, 400, "seconds"),
        ]
        for method, path, body, status, param in cases:
            with self.subTest(path=path, body=str(body)[:40]):
                got, data = self.server.request(method, path, body)
                self.assertEqual(got, status, data)
                self.assertEqual(set(data["error"]), {"message", "type", "param", "code"})
                if param:
                    self.assertEqual(data["error"]["param"], param, data)
        # Undo at the opening.
        c = self.new_story()
        got, data = self.server.request("POST", "/v1/stories/%s/undo" % c["id"], {})
        self.assertEqual(got, 409, data)
        self.assertEqual(self.server.get("/health")[0], 200)

    def test_steering_along_an_arc(self):
        st = self.new_story(arc="man_in_a_hole", arc_passages=3)
        sid = st["id"]
        arc = st["controls"]["arc"]
        self.assertEqual(st["controls"]["arc_shape"], "man_in_a_hole")
        self.assertEqual(len(arc), 3)
        self.assertGreater(arc[0], 0.4)  # man in a hole: high, low, high
        self.assertLess(arc[1], -0.9)
        self.assertGreater(arc[2], 0.4)
        expect = lambda t: "positive" if t > 1 / 3 else "negative" if t < -1 / 3 else "neutral"
        for depth in (1, 2, 3):
            out = self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 4, "max_tokens": 24, "seed": depth}, 201)
            steer = out["arc"]
            self.assertEqual(steer["passage"], depth)
            self.assertAlmostEqual(steer["target"], arc[depth - 1])
            self.assertEqual(steer["valence"], expect(arc[depth - 1]))  # the bundle knows valence tokens
            measured = {p["id"]: p["controls"]["measured_valence"] for p in out["passages"]}
            self.assertIn(steer["pick"], measured)
            gap = lambda i: abs(measured[i] - steer["target"])
            self.assertLessEqual(gap(steer["pick"]), min(gap(i) for i in measured) + 1e-4)
            for p in out["passages"]:
                self.assertEqual(p["controls"]["valence"], steer["valence"])
                self.assertEqual(p["controls"]["arc_target"], steer["target"])
                self.assertTrue(-1 <= p["controls"]["measured_valence"] <= 1)
            self.call("POST", "/v1/stories/%s/choose" % sid, {"node": steer["pick"]})
        # Past the arc's end: no target, still a measured valence.
        out = self.call("POST", "/v1/stories/%s/branches" % sid, {"k": 2, "max_tokens": 8}, 201)
        self.assertNotIn("arc", out)
        self.assertTrue(all("measured_valence" in p["controls"] for p in out["passages"]))
        # A list of valences, one per passage; a valence in the request wins over the arc's.
        st = self.new_story(arc=[0.9, -0.9])
        out = self.call("POST", "/v1/stories/%s/branches" % st["id"], {"k": 2, "max_tokens": 8}, 201)
        self.assertEqual((out["arc"]["target"], out["arc"]["valence"]), (0.9, "positive"))
        out = self.call("POST", "/v1/stories/%s/branches" % st["id"],
                        {"k": 2, "max_tokens": 8, "valence": "neutral"}, 201)
        self.assertEqual(out["arc"]["valence"], "neutral")
        for body, param in [({"arc": "spiral"}, "arc"), ({"arc": [2]}, "arc"), ({"arc": []}, "arc"),
                            ({"arc": [0.1] * 65}, "arc"), ({"arc": {"a": 1}}, "arc"), ({"arc": ["x"]}, "arc"),
                            ({"arc_passages": 4}, "arc_passages"),
                            ({"arc": [0.5, 0.1], "arc_passages": 4}, "arc_passages"),
                            ({"arc": "icarus", "arc_passages": 1}, "arc_passages"),
                            ({"valence": "ecstatic"}, "valence")]:
            with self.subTest(body=body):
                got, data = self.server.request("POST", "/v1/stories", dict({"premise": "x"}, **body))
                self.assertEqual(got, 400, data)
                self.assertEqual(data["error"]["param"], param, data)

    def test_a_screenplay_or_one_of_its_scenes_seeds_a_story(self):
        screenplay = ("Title: The Garden\nAuthor: Test\n\nINT. ROOM - DAY\n\nBob sits by the window.\n\n"
                      "EXT. GARDEN - NIGHT\n\nAlice runs between the hedges.\n")
        whole = self.call("POST", "/v1/stories", {"fountain": screenplay}, 201)
        self.assertEqual(whole["title"], "The Garden")
        opening = whole["passages"][0]["text"]
        self.assertIn("Bob sits", opening)
        self.assertIn("Alice runs", opening)
        scene = self.call("POST", "/v1/stories", {"fountain": screenplay, "scene": 2, "genre": "tragedy"}, 201)
        opening = scene["passages"][0]["text"]
        self.assertIn("Alice runs", opening)
        self.assertNotIn("Bob sits", opening)
        self.call("POST", "/v1/stories/%s/branches" % scene["id"], {"k": 2, "max_tokens": 8}, 201)
        got, data = self.server.request("POST", "/v1/stories", {"fountain": screenplay, "scene": 3})
        self.assertEqual((got, data["error"]["param"]), (400, "scene"))

    def test_list_pages_and_delete(self):
        ids = [self.new_story(title="page %d" % i)["id"] for i in range(5)]
        first = self.call("GET", "/v1/stories?limit=2")
        self.assertEqual(len(first["data"]), 2)
        self.assertTrue(first["has_more"])
        second = self.call("GET", "/v1/stories?limit=2&after=" + first["last_id"])
        self.assertEqual(len(second["data"]), 2)
        self.assertFalse({s["id"] for s in first["data"]} & {s["id"] for s in second["data"]})
        self.call("DELETE", "/v1/stories/" + ids[0])
        self.assertEqual(self.server.request("GET", "/v1/stories/" + ids[0])[0], 404)
        with sqlite3.connect(self.db) as c:
            self.assertEqual(c.execute("SELECT count(*) FROM passages WHERE story = ?", (ids[0],)).fetchone()[0], 0)
            self.assertEqual(c.execute("SELECT count(*) FROM events WHERE story = ?", (ids[0],)).fetchone()[0], 0)

    def test_exports(self):
        sid = self.new_story(beat="exposition")["id"]
        for step in range(3):
            out = self.call("POST", "/v1/stories/%s/branches" % sid,
                            {"k": 2, "max_tokens": 20, "beat": "rising_action", "emotion": "fear"}, 201)
            self.call("POST", "/v1/stories/%s/choose" % sid, {"node": out["passages"][step % 2]["id"]})
        tree = self.call("GET", "/v1/stories/%s/export?format=json" % sid)
        self.assertEqual(len(tree["path"]), 4)
        status, twee = self.server.get("/v1/stories/%s/export?format=twee" % sid)
        self.assertEqual(status, 200)
        passages = read_twee(twee)
        self.assertEqual(passages["StoryTitle"][1], "Elsinore")
        data = json.loads(passages["StoryData"][1])
        self.assertRegex(data["ifid"], r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
        self.assertEqual(data["start"], "p%d" % tree["root"])
        story_passages = {k: v for k, v in passages.items() if k not in ("StoryTitle", "StoryData")}
        self.assertEqual(len(story_passages), len(tree["passages"]))
        self.assertIn(data["start"], story_passages)
        links = 0
        for name, (tags, body) in story_passages.items():
            for target in twee_links(body):
                self.assertIn(target, story_passages, "link to a missing passage")
                links += 1
        self.assertEqual(links, len(tree["passages"]) - 1)  # one link per child
        self.assertIn("beat-rising_action", passages["p%d" % tree["path"][1]][0])
        self.assertIn("emotion-fear", passages["p%d" % tree["path"][1]][0])
        status, fountain = self.server.get("/v1/stories/%s/export?format=fountain" % sid)
        with tempfile.NamedTemporaryFile("w", suffix=".fountain", delete=False) as f:
            f.write(fountain)
        try:
            out = subprocess.run([PF, "inspect", "--json", f.name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["scenes"], len(tree["path"]))


class Viewers(unittest.TestCase):
    """Many viewers on one story, personalised branches, and profiles that
    persist across a restart."""

    def test_playthroughs_profiles_and_personalised_branches(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                def call(method, path, body=None, status=200):
                    got, data = server.request(method, path, body)
                    self.assertEqual(got, status, data)
                    return data
                st = call("POST", "/v1/stories", {"title": "Shared", "premise": PREMISE}, 201)
                sid, root = st["id"], st["root"]
                out = call("POST", "/v1/stories/%s/branches" % sid,
                           {"k": 3, "max_tokens": 16, "seed": 5, "viewer": "ann"}, 201)
                self.assertEqual(len(out["passages"]), 3)
                self.assertEqual([r["id"] for r in out["ranking"]], [p["id"] for p in out["passages"]])
                self.assertEqual([r["explore"] for r in out["ranking"]], [False, False, True])
                for rank, p in enumerate(out["passages"], 1):
                    self.assertEqual(p["controls"]["rank"], rank)
                    self.assertEqual(p["controls"]["viewer"], "ann")
                    self.assertEqual(set(p["controls"]["features"]),
                                     {"valence", "intensity", "length", "novelty", "dialogue", "new_voice",
                                      "exclamation"})
                # Ann's choice moves Ann alone; the story's own player and Bob stay at the opening.
                pick = out["passages"][1]["id"]
                tree = call("POST", "/v1/stories/%s/choose" % sid, {"node": pick, "viewer": "ann"})
                self.assertEqual(tree["path"], [root, pick])
                self.assertEqual(call("GET", "/v1/stories/%s" % sid)["current"], root)
                self.assertEqual(call("GET", "/v1/stories/%s?viewer=bob" % sid)["current"], root)
                self.assertEqual(call("GET", "/v1/stories/%s?viewer=ann" % sid)["current"], pick)
                # Without personalisation: k generated, no ranking.
                plain = call("POST", "/v1/stories/%s/branches" % sid,
                             {"k": 2, "max_tokens": 8, "viewer": "bob", "personalise": False, "node": root}, 201)
                self.assertNotIn("ranking", plain)
                self.assertEqual(len(plain["passages"]), 2)
                call("POST", "/v1/stories/%s/dwell" % sid, {"node": pick, "seconds": 3, "viewer": "ann"})
                call("POST", "/v1/stories/%s/undo" % sid, {"viewer": "ann"})
                self.assertEqual(call("GET", "/v1/stories/%s?viewer=ann" % sid)["current"], root)
                with sqlite3.connect(db) as c:
                    rows = c.execute("SELECT kind, viewer, data FROM events WHERE story = ? ORDER BY id", (sid,)).fetchall()
                    profiles = dict(c.execute("SELECT viewer, model FROM profiles").fetchall())
                kinds = [(k, v) for k, v, _ in rows]
                self.assertEqual(kinds, [("create", None), ("branches", "ann"), ("choose", "ann"),
                                         ("branches", "bob"), ("dwell", "ann"), ("undo", "ann")])
                branches = json.loads(rows[1][2])
                self.assertEqual((branches["k"], branches["generated"]), (3, 6))
                self.assertEqual(len(json.loads(rows[2][2])["shown"]), 3)
                self.assertEqual(set(profiles), {"", "ann"})  # the audience's and Ann's
                self.assertEqual(json.loads(profiles["ann"])["choices"], 1)
                # Ann's ranking of the same offer (same node, same seed) before a restart...
                body = {"k": 3, "max_tokens": 16, "seed": 11, "viewer": "ann", "node": root}
                before = call("POST", "/v1/stories/%s/branches" % sid, body, 201)
                bad = [({"viewer": ""}, "viewer"), ({"viewer": "a b"}, "viewer"), ({"viewer": "x" * 129}, "viewer"),
                       ({"viewer": 7}, "viewer"), ({"personalise": "yes"}, "personalise")]
                for extra, param in bad:
                    got, data = server.request("POST", "/v1/stories/%s/branches" % sid, dict({"k": 1}, **extra))
                    self.assertEqual((got, data["error"]["param"]), (400, param), data)
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            # ... and after: the profile persisted, so the ranking is the same.
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                got, after = server.request("POST", "/v1/stories/%s/branches" % sid, body)
                self.assertEqual(got, 201, after)
                self.assertEqual([p["text"] for p in after["passages"]], [p["text"] for p in before["passages"]])
                self.assertEqual([r["score"] for r in after["ranking"]], [r["score"] for r in before["ranking"]])
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())


class CrashAndRestart(unittest.TestCase):
    def test_kill_9_during_branches_then_restart(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            _, st = server.request("POST", "/v1/stories", {"title": "crash", "premise": PREMISE})
            sid = st["id"]
            answered, stop = [], threading.Event()

            def player():
                while not stop.is_set():
                    try:
                        got, out = server.request("POST", "/v1/stories/%s/branches" % sid,
                                                  {"k": 4, "max_tokens": 64, "node": st["root"]}, timeout=10)
                    except Exception:
                        return  # the server died under us
                    if got == 201:
                        answered.extend(p["id"] for p in out["passages"])

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                for _ in range(4):
                    pool.submit(player)
                time.sleep(1.5)
                server.kill()
                stop.set()
            self.assertGreater(len(answered), 0)
            with sqlite3.connect(db) as c:
                self.assertEqual(c.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                stored = {i for (i,) in c.execute("SELECT id FROM passages WHERE story = ?", (sid,))}
                listed = set()
                for (data,) in c.execute("SELECT data FROM events WHERE kind = 'branches'"):
                    listed.update(json.loads(data)["passages"])
                blobs = [len(b) for (b,) in c.execute("SELECT tokens FROM passages WHERE author = 'model'")]
            self.assertTrue(set(answered) <= stored, "a passage answered to a client is missing")
            self.assertEqual(stored - {st["root"]}, listed, "a passage without its event, or the reverse")
            self.assertTrue(all(n > 0 for n in blobs))
            # The story continues after a restart on the same file.
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                got, out = server.request("POST", "/v1/stories/%s/branches" % sid, {"k": 2, "max_tokens": 8})
                self.assertEqual(got, 201, out)
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())

    def test_greedy_continuation_is_the_same_after_a_restart(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")
            greedy = {"k": 1, "max_tokens": 24, "temperature": 0}
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                _, st = server.request("POST", "/v1/stories", {"premise": PREMISE, "genre": "tragedy"})
                sid = st["id"]
                _, out = server.request("POST", "/v1/stories/%s/branches" % sid, {"k": 2, "max_tokens": 16})
                node = out["passages"][1]["id"]
                server.request("POST", "/v1/stories/%s/choose" % sid, {"node": node})
                _, before = server.request("POST", "/v1/stories/%s/branches" % sid, greedy)
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                got, after = server.request("POST", "/v1/stories/%s/branches" % sid, greedy)
                self.assertEqual(got, 201, after)
                self.assertEqual(after["passages"][0]["text"], before["passages"][0]["text"])
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())


class Players(unittest.TestCase):
    def test_16_players_on_16_stories(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                def play(i):
                    sent = []
                    _, st = server.request("POST", "/v1/stories", {"title": "player %d" % i, "premise": PREMISE})
                    sent.append((st["root"], PREMISE))
                    for step in range(3):
                        got, out = server.request("POST", "/v1/stories/%s/branches" % st["id"],
                                                  {"k": 2, "max_tokens": 16, "seed": i * 10 + step})
                        assert got == 201, out
                        sent.extend((p["id"], p["text"]) for p in out["passages"])
                        got, _ = server.request("POST", "/v1/stories/%s/choose" % st["id"],
                                                {"node": out["passages"][step % 2]["id"]})
                        assert got == 200
                    return st["id"], sent

                with concurrent.futures.ThreadPoolExecutor(16) as pool:
                    results = list(pool.map(play, range(16)))
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            with sqlite3.connect(db) as c:
                for sid, sent in results:
                    rows = dict(c.execute("SELECT id, text FROM passages WHERE story = ?", (sid,)).fetchall())
                    self.assertEqual(rows, dict(sent))
                    self.assertEqual(len(rows), 1 + 3 * 2)


class ClassifierFeatures(unittest.TestCase):
    """--classifier: every candidate carries the scene classifier's genre, beat
    and emotion probabilities; a database written with and without one is
    read by servers started either way."""

    def test_candidates_carry_the_classifiers_probabilities_across_restarts(self):
        with open(os.path.join(CLASSIFIER, "config.json")) as f:
            meta = json.load(f)["plotforge"]
        labels = meta["labels"]
        # The sample plays carry genres and beats, no emotions: the emotion
        # head learnt nothing and is left out.
        heads = [h for h in ("genre", "beat", "emotion") if h in meta["labelled_heads"]]
        self.assertEqual(heads, ["genre", "beat"])
        text_names = {"valence", "intensity", "length", "novelty", "dialogue", "new_voice", "exclamation"}
        class_names = {"%s=%s" % (h, c) for h in heads for c in labels[h]}
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")

            def serve(*flags):
                return ServerProcess(BIN, BUNDLE, "--db", db, *flags)

            def call(server, method, path, body=None, status=200):
                got, data = server.request(method, path, body)
                self.assertEqual(got, status, data)
                return data

            def ann_profile():
                with sqlite3.connect(db) as c:
                    return json.loads(c.execute("SELECT model FROM profiles WHERE viewer = 'ann'").fetchone()[0])

            def rank_then_choose(server, pick):
                """Ann ranks the opening's four candidates, steps back and
                chooses `pick` (None: the first ranked)."""
                ranked = call(server, "POST", "/v1/stories/%s/rank" % sid, {"node": root, "viewer": "ann", "seed": 1})
                self.assertEqual(len(ranked["ranking"]), 4)
                call(server, "POST", "/v1/stories/%s/undo" % sid, {"viewer": "ann"})
                call(server, "POST", "/v1/stories/%s/choose" % sid,
                     {"node": pick or ranked["ranking"][0]["id"], "viewer": "ann"})

            server = serve("--classifier", CLASSIFIER)
            try:
                st = call(server, "POST", "/v1/stories", {"title": "Read", "premise": PREMISE}, 201)
                sid, root = st["id"], st["root"]
                out = call(server, "POST", "/v1/stories/%s/branches" % sid,
                           {"k": 2, "max_tokens": 24, "seed": 3, "viewer": "ann"}, 201)
                for p in out["passages"]:
                    f = p["controls"]["features"]
                    self.assertEqual(set(f), text_names | class_names)
                    for head in heads:
                        total = sum(v for k, v in f.items() if k.startswith(head + "="))
                        self.assertAlmostEqual(total, 1.0, delta=5e-4 * len(labels[head]))
                # Different passages read differently.
                a, b = (p["controls"]["features"] for p in out["passages"])
                self.assertNotEqual([a[n] for n in sorted(class_names)], [b[n] for n in sorted(class_names)])
                call(server, "POST", "/v1/stories/%s/choose" % sid, {"node": out["passages"][0]["id"], "viewer": "ann"})
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            ann = ann_profile()
            self.assertEqual(set(ann["features"]), text_names | class_names)
            self.assertEqual(ann["choices"], 1)

            # Without the classifier: the stored profile is read over the
            # text features alone; a choice still teaches it.
            server = serve()
            try:
                plain = call(server, "POST", "/v1/stories/%s/branches" % sid,
                             {"k": 2, "max_tokens": 16, "seed": 4, "viewer": "ann", "node": root}, 201)
                self.assertEqual(set(plain["passages"][0]["controls"]["features"]), text_names)
                rank_then_choose(server, plain["passages"][1]["id"])  # both sessions' candidates
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            ann = ann_profile()
            self.assertEqual(set(ann["features"]), text_names)
            self.assertEqual(ann["choices"], 2)

            # With it again: the passages stored without class probabilities
            # are read afresh, so all four rank in the wider space.
            server = serve("--classifier", CLASSIFIER)
            try:
                rank_then_choose(server, None)
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            ann = ann_profile()
            self.assertEqual(set(ann["features"]), text_names | class_names)
            self.assertEqual(ann["choices"], 3)

    def test_a_bundle_that_is_not_a_classifier_is_refused_at_start(self):
        r = subprocess.run([BIN, "serve", "--bundle", BUNDLE, "--port", "0", "--classifier", BUNDLE],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("export a classifier run", r.stderr)
        self.assertIn("config.json", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
