// Corpus-level text metrics for generated scenes, on words (lower-cased runs
// of letters, digits and apostrophes; every other visible character is a
// word of its own).
//
//   distinct-n       unique n-grams / all n-grams, over all samples (Li et al. 2016)
//   BLEU-4           each sample against a reference set: clipped n-gram
//                    precisions for n = 1..4, geometric mean, brevity penalty
//                    against the closest reference length, zero counts
//                    smoothed by 0.1 (Chen & Cherry's method 1, as Texygen
//                    computes it via NLTK); the mean over samples
//   Self-BLEU-4      BLEU-4 of each sample against all the others (Zhu et al.
//                    2018): high means the samples resemble each other
//   repetition-4     per sample, 1 - unique 4-grams / all 4-grams (Welleck
//                    et al.'s seq-rep-4); the mean over samples
#pragma once

#include <string>
#include <vector>

namespace plotforge {

using Words = std::vector<std::string>;

Words words(const std::string& text);

double distinct_n(const std::vector<Words>& samples, int n);
double bleu(const std::vector<Words>& samples, const std::vector<Words>& references, int max_n = 4);
double self_bleu(const std::vector<Words>& samples, int max_n = 4);
double repetition_rate(const std::vector<Words>& samples, int n = 4);

}  // namespace plotforge
