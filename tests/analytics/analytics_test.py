"""Audience analytics (plotforge-run analytics, GET /v1/analytics) on an
event log made by real viewers on a real server, whose answers are computed
here independently from the script the viewers followed: choice shares,
drop-off, median dwell, completion, path entropy; a planted 70% branch
shows as 70% within sampling error; bad rows written straight into the
SQLite file are counted, never fatal. Run by CTest with PLOTFORGE_RUN and
SERVING_BUNDLE."""
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serving"))
from server_process import ServerProcess  # noqa: E402

BIN = os.environ["PLOTFORGE_RUN"]
BUNDLE = os.environ["SERVING_BUNDLE"]
SOURCE = os.path.join(os.path.dirname(__file__), "..", "..")


class Analytics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.db = os.path.join(cls.dir.name, "stories.db")
        server = ServerProcess(BIN, BUNDLE, "--db", cls.db)
        try:
            def call(method, path, body=None):
                got, data = server.request(method, path, body)
                assert got in (200, 201), (path, got, data)
                return data
            st = call("POST", "/v1/stories", {"title": "Fork", "premise": "INT. ROAD - DAY\n\n"})
            cls.sid, cls.root = st["id"], st["root"]
            # A fixed tree: two candidates at the root, two under the first.
            top = call("POST", "/v1/stories/%s/branches" % cls.sid,
                       {"k": 2, "max_tokens": 8, "seed": 1, "personalise": False})["passages"]
            cls.a, cls.b = top[0]["id"], top[1]["id"]
            call("POST", "/v1/stories/%s/choose" % cls.sid, {"node": cls.a})
            low = call("POST", "/v1/stories/%s/branches" % cls.sid,
                       {"k": 2, "max_tokens": 8, "seed": 2})["passages"]
            cls.a1, cls.a2 = low[0]["id"], low[1]["id"]
            # 200 viewers; A with probability 0.7, then A1 or A2 or stop.
            rng = random.Random(5)
            cls.script = {}
            for i in range(200):
                v = "v%d" % i
                path = [cls.root]
                first = cls.a if rng.random() < 0.7 else cls.b
                call("POST", "/v1/stories/%s/dwell" % cls.sid, {"node": cls.root, "seconds": 1 + i % 5, "viewer": v})
                call("POST", "/v1/stories/%s/choose" % cls.sid, {"node": first, "viewer": v})
                path.append(first)
                if first == cls.a:
                    r = rng.random()
                    if r < 0.5:
                        call("POST", "/v1/stories/%s/choose" % cls.sid, {"node": cls.a1, "viewer": v})
                        path.append(cls.a1)
                    elif r < 0.75:
                        call("POST", "/v1/stories/%s/choose" % cls.sid, {"node": cls.a2, "viewer": v})
                        path.append(cls.a2)
                cls.script[v] = path
            cls.api = call("GET", "/v1/analytics/stories/%s" % cls.sid)
            cls.missing = server.request("GET", "/v1/analytics/stories/st_00000000")[0]
        finally:
            assert server.stop() == 0, server.stderr()

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def report(self, db, *extra):
        out_dir = tempfile.mkdtemp(dir=self.dir.name)
        out = subprocess.run([BIN, "analytics", "--db", db, "--out", out_dir, *extra], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(os.path.join(out_dir, "analytics.json")) as f:
            return json.load(f), out_dir

    def story(self, report):
        return next(s for s in report["stories"] if s["id"] == self.sid)

    def test_answers_match_the_script(self):
        rep, _ = self.report(self.db, "--story", self.sid)
        st = self.story(rep)
        paths = list(self.script.values())
        # The story's own player (who built the tree) is a viewer too.
        paths.append([self.root, self.a])
        n = len(paths)
        self.assertEqual(st["viewers"], n)
        by_id = {p["id"]: p for p in st["passages"]}
        reached = lambda node: sum(node in p for p in paths)
        last = lambda node: sum(p[-1] == node for p in paths)
        for node in (self.root, self.a, self.b, self.a1, self.a2):
            self.assertEqual(by_id[node]["visits"], reached(node), node)
            self.assertAlmostEqual(by_id[node]["dropoff"], last(node) / reached(node), places=9)
        shares = {c["id"]: c["share"] for c in by_id[self.root]["children"]}
        went_a = sum(p[1] == self.a for p in paths)
        self.assertAlmostEqual(shares[self.a], went_a / n, places=9)
        under_a = {c["id"]: c["choices"] for c in by_id[self.a]["children"]}
        self.assertEqual(under_a[self.a1], sum(len(p) > 2 and p[2] == self.a1 for p in paths))
        # The planted 70%: within three standard errors.
        viewers_a = sum(p[1] == self.a for p in self.script.values()) / 200
        self.assertLess(abs(shares[self.a] - 0.7), 3 * math.sqrt(0.7 * 0.3 / 200) + 1 / n)
        self.assertAlmostEqual(viewers_a, sum(p[1] == self.a for p in self.script.values()) / 200)
        # Median dwell at the root: 1..5 seconds, 40 viewers each.
        self.assertEqual(by_id[self.root]["median_seconds"], 3)
        # Completion: last passage is a leaf (B, A1, A2).
        done = sum(p[-1] in (self.b, self.a1, self.a2) for p in paths)
        self.assertAlmostEqual(st["completion_rate"], done / n, places=9)
        counts = {}
        for p in paths:
            counts[tuple(p)] = counts.get(tuple(p), 0) + 1
        entropy = -sum(c / n * math.log2(c / n) for c in counts.values())
        self.assertEqual(st["distinct_paths"], len(counts))
        self.assertAlmostEqual(st["path_entropy_bits"], entropy, places=9)
        self.assertEqual(st["most_travelled_path"][:2], [self.root, self.a])
        self.assertEqual(st["funnel"][0], n)
        self.assertEqual(rep["anomalies"], {"unknown_passage": 0, "bad_data": 0, "time_backwards": 0,
                                            "duplicates": 0, "not_a_candidate": 0})
        # The API serves the same numbers.
        api = self.story(self.api)
        self.assertEqual(api["viewers"], st["viewers"])
        self.assertEqual(api["passages"], st["passages"])
        self.assertEqual(self.missing, 404)

    def test_bad_events_are_counted_not_fatal(self):
        bad_db = os.path.join(self.dir.name, "bad.db")
        with sqlite3.connect(self.db) as src, sqlite3.connect(bad_db) as dst:
            src.backup(dst)
        with sqlite3.connect(bad_db) as c:
            last = c.execute("SELECT story, passage, kind, data, at, viewer FROM events "
                             "WHERE kind = 'choose' ORDER BY id DESC LIMIT 1").fetchone()
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?,?,?,?,?,?)", last)
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, 999999, 'choose', "
                      "'{}', ?, 'ghost')", (self.sid, last[4] + 1))
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, ?, 'dwell', "
                      "'not json', ?, 'v1')", (self.sid, self.root, last[4] + 2))
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, ?, 'dwell', "
                      "'{\"seconds\": 1}', ?, 'v2')", (self.sid, self.root, 1.0))  # long before v2's events
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, NULL, 'choose', "
                      "'{}', ?, 'v4')", (self.sid, last[4] + 4))  # a choice of no passage (found by fuzzing)
            c.execute("INSERT INTO events (story, passage, kind, data, at, viewer) VALUES ('st_gone', NULL, "
                      "'choose', '{}', ?, 'v3')", (last[4] + 3,))
        rep, _ = self.report(bad_db)
        self.assertEqual(rep["anomalies"]["duplicates"], 1)
        self.assertEqual(rep["anomalies"]["unknown_passage"], 3)  # passage 999999, no passage, story st_gone
        self.assertEqual(rep["anomalies"]["bad_data"], 1)
        self.assertEqual(rep["anomalies"]["time_backwards"], 1)
        self.assertEqual(self.story(rep)["viewers"], 201)  # nothing else moved

    def test_charts_and_bad_arguments(self):
        rep, out_dir = self.report(self.db)
        plot = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "plot_analytics.py"), out_dir],
                              capture_output=True, text=True, timeout=300)
        self.assertEqual(plot.returncode, 0, plot.stderr)
        pngs = sorted(f for f in os.listdir(out_dir) if f.endswith(".png"))
        self.assertEqual(len(pngs), 3 * len(rep["stories"]) + 1, pngs)
        for p in pngs:
            with open(os.path.join(out_dir, p), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        out = subprocess.run([BIN, "analytics", "--db", "/nonexistent.db", "--out", out_dir], capture_output=True,
                             text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("/nonexistent.db", out.stderr)
        out = subprocess.run([BIN, "analytics", "--db", self.db, "--out", out_dir, "--story", "st_00000000"],
                             capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("st_00000000", out.stderr)
        garbage = os.path.join(self.dir.name, "garbage.db")
        with open(garbage, "w") as f:
            f.write("not a database")
        out = subprocess.run([BIN, "analytics", "--db", garbage, "--out", out_dir], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("garbage.db", out.stderr)


if __name__ == "__main__":
    unittest.main()
