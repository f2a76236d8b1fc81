#!/usr/bin/env python3
"""BLEU-4 and Self-BLEU-4 by NLTK, for tests/text_metrics_test.cc.

    bleu_reference.py SETS.json   ({"samples": [[word...]...], "references": [...]})

Prints {"bleu": mean sentence BLEU of each sample against all references,
"self_bleu": mean BLEU of each sample against the other samples}, both with
method-1 smoothing and uniform 4-gram weights, as Texygen computes them.
"""
import json
import sys

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

sets = json.load(open(sys.argv[1]))
smooth = SmoothingFunction().method1
w = (0.25, 0.25, 0.25, 0.25)
samples, refs = sets["samples"], sets["references"]
b = sum(sentence_bleu(refs, s, w, smooth) for s in samples) / len(samples)
sb = sum(sentence_bleu(samples[:i] + samples[i + 1:], s, w, smooth) for i, s in enumerate(samples)) / len(samples)
print(json.dumps({"bleu": b, "self_bleu": sb}))
