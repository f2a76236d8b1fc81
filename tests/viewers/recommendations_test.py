"""GET /v1/viewers/{id}/recommendations on a real plotforge-run serve process
with a recommender trained by the real `plotforge recommend train` on a log
whose items are the server's own stories: known viewers by their vector,
a viewer the recommender never saw by the stories they played on this
server, a stranger by popularity; titles from the story database; the same
answers as `plotforge recommend predict`; bad requests are 4xx naming the
parameter; the route is behind the API key. Run by CTest with PLOTFORGE_RUN,
PLOTFORGE and SERVING_BUNDLE."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "serving"))
from server_process import ServerProcess  # noqa: E402

BIN = os.environ["PLOTFORGE_RUN"]
PF = os.environ["PLOTFORGE"]
BUNDLE = os.environ["SERVING_BUNDLE"]
KEY = "rec-key"


class Recommendations(unittest.TestCase):
    def test_known_history_and_cold_viewers(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "stories.db")
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                ids = []
                for title in ("Castle", "Court", "Heath", "Sea"):
                    got, st = server.request("POST", "/v1/stories", {"title": title, "premise": "INT. HALL - DAY\n"})
                    self.assertEqual(got, 201, st)
                    ids.append(st["id"])
                # Ann plays the first story on this server.
                got, out = server.request("POST", "/v1/stories/%s/branches" % ids[0],
                                          {"k": 2, "max_tokens": 8, "viewer": "ann", "personalise": False})
                self.assertEqual(got, 201, out)
                got, _ = server.request("POST", "/v1/stories/%s/choose" % ids[0],
                                        {"node": out["passages"][0]["id"], "viewer": "ann"})
                self.assertEqual(got, 200)
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())

            # A log: Castle and Court go together, Heath and Sea go together;
            # Court is the most popular of all.
            castle, court, heath, sea = ids
            rows = ["user,item,value"]
            for u in range(12):
                if u % 2 == 0:
                    rows += ["u%d,%s,1" % (u, castle), "u%d,%s,1" % (u, court)]
                else:
                    rows += ["u%d,%s,1" % (u, heath), "u%d,%s,1" % (u, sea)]
                    if u % 3 == 0:
                        rows.append("u%d,%s,1" % (u, court))
            rows.append("solo,%s,1" % castle)
            log = os.path.join(d, "log.csv")
            with open(log, "w") as f:
                f.write("\n".join(rows) + "\n")
            run = os.path.join(d, "rec")
            r = subprocess.run([PF, "recommend", "train", "--interactions", log, "--out", run, "--model", "als",
                                "--factors", "4", "--reg", "0.1", "--iterations", "8"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)

            server = ServerProcess(BIN, BUNDLE, "--db", db, "--recommender", run, "--api-key", KEY)
            auth = {"Authorization": "Bearer " + KEY}
            try:
                def get(path, status=200, headers=auth):
                    req = urllib.request.Request(server.url + path, headers=headers)
                    try:
                        with urllib.request.urlopen(req, timeout=30) as resp:
                            code, body = resp.status, resp.read()
                    except urllib.error.HTTPError as e:
                        code, body = e.code, e.read()
                    self.assertEqual(code, status, body)
                    return json.loads(body)

                # Known: solo took Castle; Court goes with it.
                known = get("/v1/viewers/solo/recommendations?k=1")
                self.assertEqual((known["source"], known["model"]), ("known", "als"))
                self.assertEqual([x["item"] for x in known["data"]], [court])
                self.assertEqual(known["data"][0]["title"], "Court")
                # Ann is not in the log; she played Castle here: folded in.
                ann = get("/v1/viewers/ann/recommendations?k=3")
                self.assertEqual(ann["source"], "history")
                self.assertNotIn(castle, [x["item"] for x in ann["data"]])
                self.assertEqual(ann["data"][0]["item"], court)
                # A stranger: the most popular first.
                cold = get("/v1/viewers/nobody/recommendations")
                self.assertEqual(cold["source"], "cold")
                self.assertEqual(cold["data"][0]["item"], court)
                self.assertEqual(len(cold["data"]), 4)  # k 10, four stories
                # The command line agrees with the server.
                p = subprocess.run([PF, "recommend", "predict", "--run", run, "--user", "solo", "--k", "1", "--json"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                cli = json.loads(p.stdout)
                self.assertEqual([x["item"] for x in cli["items"]], [x["item"] for x in known["data"]])
                # Bad requests name the parameter.
                for path, param in [("/v1/viewers/ann/recommendations?k=0", "k"),
                                    ("/v1/viewers/ann/recommendations?k=ten", "k"),
                                    ("/v1/viewers/ann/recommendations?k=101", "k"),
                                    ("/v1/viewers/ann/recommendations?top=3", "top"),
                                    ("/v1/viewers/a%20b/recommendations", "viewer")]:
                    err = get(path, 400)
                    self.assertEqual(err["error"]["param"], param, err)
                get("/v1/viewers/ann/recommendations", 401, headers={})
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())

            # Without a recommender the route says how to start with one.
            server = ServerProcess(BIN, BUNDLE, "--db", db)
            try:
                got, err = server.request("GET", "/v1/viewers/ann/recommendations")
                self.assertEqual(got, 404, err)
                self.assertIn("--recommender", err["error"]["message"])
            finally:
                self.assertEqual(server.stop(), 0, server.stderr())
            # A run directory without a trained recommender stops the server at start.
            r = subprocess.run([BIN, "serve", "--bundle", BUNDLE, "--port", "0", "--recommender", d],
                               capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("plotforge recommend train", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
