"""plotforge prepare --label-emotions through the real programs: derived
valence and emotion labels land in the HDF5 corpus (read here with h5py),
an explicit [[emotion:]] note is never overwritten, schema version 1 files
still read, the scene classifier trains a valence head on the labels, and
bad lexicons or options fail naming the file and line. Run by CTest with
PLOTFORGE and PLOTFORGE_SOURCE."""
import os
import shutil
import subprocess
import tempfile
import unittest

import h5py

PF = os.environ["PLOTFORGE"]
SOURCE = os.environ["PLOTFORGE_SOURCE"]

NOTED = """Title: Noted
Genre: comedy

# ACT I

INT. GARDEN - DAY

HERO
A ghost! A horrible, cruel ghost! Murder!

[[emotion: joy]]

INT. HALL - NIGHT

HERO
A ghost walks here, a murder, a horrible murder.

INT. KITCHEN - DAY

HERO
The kettle is on the stove.
"""

# A user's EmoLex-format lexicon (NRC's own is not shipped).
LEXICON = "ghost\tfear\t1\nmurder\tfear\t1\nmurder\tanger\t1\nkettle\tanticipation\t1\n"


def run(*args, **kw):
    return subprocess.run([PF, *args], capture_output=True, text=True, timeout=600, **kw)


class Labels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.scripts = os.path.join(cls.dir, "scripts")
        shutil.copytree(os.path.join(SOURCE, "data", "sample"), cls.scripts)
        with open(os.path.join(cls.scripts, "noted.fountain"), "w") as f:
            f.write(NOTED)
        cls.lexicon = os.path.join(cls.dir, "emolex.txt")
        with open(cls.lexicon, "w") as f:
            f.write(LEXICON)
        cls.tok = os.path.join(cls.dir, "tok.model")
        out = run("tokenizer", "train", "--input", cls.scripts, "--out", cls.tok, "--vocab-size", "600")
        assert out.returncode == 0, out.stderr
        cls.corpus = os.path.join(cls.dir, "labelled.h5")
        cls.prepare = run("prepare", "--input", cls.scripts, "--tokenizer", cls.tok, "--out", cls.corpus,
                          "--label-emotions", "--emotion-lexicon", cls.lexicon, "--val-fraction", "0.3", "--quiet")
        assert cls.prepare.returncode == 0, cls.prepare.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_labels_in_the_corpus(self):
        self.assertIn("derived labels: valence", self.prepare.stdout)
        with h5py.File(self.corpus) as f:
            self.assertEqual(f.attrs["schema_version"], 2)
            valence = [v.decode() for v in f["scenes/valence"][:]]
            emotion = [v.decode() for v in f["scenes/emotion"][:]]
            derived = list(f["scenes/emotion_derived"][:])
            titles = [t.decode() for t in f["documents/title"][:]]
            scene_off = f["documents/scene_offsets"][:]
            names = [n.decode() for n in f["control_tokens/name"][:]]
            ids = list(f["control_tokens/id"][:])
            tokens = f["tokens"][:]
            begins = f["scenes/token_begin"][:]
        self.assertTrue(set(valence) <= {"negative", "neutral", "positive"}, set(valence))
        self.assertGreater(len(set(valence)), 1)  # the sample plays are not all one class
        d = titles.index("Noted")
        garden, hall, kitchen = range(scene_off[d], scene_off[d + 1])
        self.assertEqual((emotion[garden], derived[garden], valence[garden]), ("fear", 1, "negative"))
        # The note says joy: it wins over the lexicon's fear and VADER's negative.
        self.assertEqual((emotion[hall], derived[hall]), ("joy", 0))
        self.assertEqual(valence[hall], "negative")
        self.assertEqual((emotion[kitchen], derived[kitchen]), ("joy", 0))  # the note carries on
        # The tokens say which labels were derived.
        id_of = dict(zip(names, ids))
        self.assertEqual(tokens[begins[garden] + 1], id_of["<derived_emotion=fear>"])
        self.assertEqual(tokens[begins[garden] + 2], id_of["<valence=negative>"])
        self.assertEqual(tokens[begins[hall] + 1], id_of["<emotion=joy>"])
        self.assertEqual(tokens[begins[hall] + 2], id_of["<valence=negative>"])

    def test_version_1_files_still_read(self):
        old = os.path.join(self.dir, "v1.h5")
        shutil.copy(self.corpus, old)
        with h5py.File(old, "r+") as f:
            del f["scenes/valence"]
            del f["scenes/emotion_derived"]
            f.attrs["schema_version"] = 1
        out = run("train", "--config", os.path.join(SOURCE, "configs", "tiny.ini"), "--data", old, "--out",
                  os.path.join(self.dir, "run-v1"), "--max-steps", "1", "--quiet")
        self.assertEqual(out.returncode, 0, out.stderr)
        with h5py.File(old, "r+") as f:
            f.attrs["schema_version"] = 3
        out = run("train", "--config", os.path.join(SOURCE, "configs", "tiny.ini"), "--data", old, "--out",
                  os.path.join(self.dir, "run-v3"), "--max-steps", "1", "--quiet")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("schema_version", out.stderr)
        self.assertIn("update plotforge", out.stderr)

    def test_classifier_learns_a_valence_head(self):
        run_dir = os.path.join(self.dir, "classifier")
        out = run("train", "--config", os.path.join(SOURCE, "configs", "tiny.ini"), "--kind", "classifier",
                  "--data", self.corpus, "--out", run_dir, "--max-steps", "2", "--eval-every", "2",
                  "--eval-batches", "2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout + out.stderr, r"valence_accuracy[ =:]+[01]\.\d")

    def test_bad_lexicons_and_options(self):
        bad = os.path.join(self.dir, "bad.txt")
        with open(bad, "w") as f:
            f.write("ghost\tfear\t1\nghost\tdread\t1\n")
        out_path = os.path.join(self.dir, "never.h5")
        out = run("prepare", "--input", self.scripts, "--tokenizer", self.tok, "--out", out_path,
                  "--label-emotions", "--emotion-lexicon", bad, "--quiet")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(bad + ":2", out.stderr)
        self.assertFalse(os.path.exists(out_path))
        vader = os.path.join(self.dir, "vader.txt")
        with open(vader, "w") as f:
            f.write("good\t1.9\t0.9\t[2]\nbad\tvery\t0.5\t[1]\n")
        out = run("prepare", "--input", self.scripts, "--tokenizer", self.tok, "--out", out_path,
                  "--label-emotions", "--lexicon", vader, "--quiet")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(vader + ":2", out.stderr)
        out = run("prepare", "--input", self.scripts, "--tokenizer", self.tok, "--out", out_path,
                  "--emotion-lexicon", self.lexicon, "--quiet")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("--label-emotions", out.stderr)
        self.assertFalse(os.path.exists(out_path))


if __name__ == "__main__":
    unittest.main()
