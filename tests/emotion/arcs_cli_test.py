"""plotforge arcs and scripts/plot_arcs.py on the sample corpus, through the
real programs: the JSON holds what docs/emotion.md documents, the plots are
PNG files, and bad input fails with a message naming it. Run by CTest with
PLOTFORGE and PLOTFORGE_SOURCE."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

PF = os.environ["PLOTFORGE"]
SOURCE = os.environ["PLOTFORGE_SOURCE"]


class Arcs(unittest.TestCase):
    def test_json_and_plots(self):
        plays = sorted(glob.glob(os.path.join(SOURCE, "data", "sample", "*.fountain")))
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([PF, "arcs", "--out", d, *plays], capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("shape", out.stdout)
            data = json.load(open(os.path.join(d, "arcs.json")))
            self.assertEqual(len(data["scripts"]), len(plays))
            shapes = {"rags_to_riches", "riches_to_rags", "man_in_a_hole", "icarus", "cinderella", "oedipus"}
            for s in data["scripts"]:
                self.assertEqual(len(s["arc"]), 100)
                self.assertEqual(len(s["arc_dct"]), 100)
                self.assertIn(s["shape"], shapes)
                self.assertEqual(set(s["shapes"]), shapes)
                self.assertTrue(all(-1 <= v <= 1 for v in s["arc"] + s["arc_dct"]))
            self.assertEqual(len(data["modes"]), 3)
            plot = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "plot_arcs.py"), d],
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(plot.returncode, 0, plot.stderr)
            pngs = glob.glob(os.path.join(d, "*.png"))
            self.assertEqual(len(pngs), 2 * len(plays) + 1)
            for p in pngs:
                with open(p, "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_bad_input_fails_with_a_message(self):
        out = subprocess.run([PF, "arcs", "/nonexistent/play.fountain"], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("/nonexistent/play.fountain", out.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".fountain") as f:
            f.write("INT. HALL - DAY\n\nNobody speaks.\n")
            f.flush()
            out = subprocess.run([PF, "arcs", f.name], capture_output=True, text=True)
            self.assertEqual(out.returncode, 1)
            self.assertIn("no dialogue", out.stderr)
        out = subprocess.run([PF, "arcs", "--low-pass", "0", "x"], capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--low-pass", out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
