// Emotional arcs: a script read as the path of its valence through
// narrative time (docs/emotion.md).
//
// Narrative time is the count of dialogue words so far. Each speech (a cue
// and its dialogue) gets VADER's compound score. From those:
//  - the window arc: at 100 evenly spaced points, the word-weighted mean
//    valence of the speeches overlapping a window of `window` words centred
//    there (Reagan et al. 2016 slide a window over the text);
//  - the DCT arc: the speeches' valences in order, their discrete cosine
//    transform cut to the `low_pass` lowest frequencies and evaluated back
//    at 100 points, then scaled to [-1, 1] (Jockers' syuzhet);
//  - the shape: the nearest of Reagan's six (rags to riches, riches to rags,
//    man in a hole, Icarus, Cinderella, Oedipus) by correlation with the DCT
//    arc.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "datasets/script.h"
#include "emotion/vader.h"

namespace plotforge::emotion {

constexpr int kArcPoints = 100;

struct Speech {
  int line = 0;  // source line of the cue
  std::string character;
  int scene = -1;       // index into ScriptArc::scenes, -1 before the first
  long long start = 0;  // narrative time: dialogue words before it
  int words = 0;
  double valence = 0;  // VADER compound of the whole speech
};

struct SceneValence {
  std::string heading;
  int act = 0;
  int line = 0;
  long long start = 0;  // narrative time of its first word
  double valence = 0;   // word-weighted mean of its speeches (0 without any)
  int speeches = 0;
};

struct Shape {
  std::string name;  // "rags_to_riches", ...
  double r = 0;      // Pearson correlation with the DCT arc
};

struct ScriptArc {
  std::string source, title;
  std::vector<std::string> genres;
  long long words = 0;
  std::vector<Speech> speeches;
  std::vector<SceneValence> scenes;
  std::map<std::string, std::pair<double, int>> characters;  // name -> (mean valence, speeches)
  std::array<double, kArcPoints> arc{}, arc_dct{};
  Shape shape;                // nearest of the six
  std::vector<Shape> shapes;  // all six, best first
};

struct ArcOptions {
  int window = 0;    // words; 0: a tenth of the script's dialogue words (at least 100)
  int low_pass = 5;  // DCT components kept
};

// The dialogue of the speech whose cue is script.elements[cue] (its lines,
// parentheticals left out, joined with spaces); "" when none follows.
std::string speech_text(const Script& script, std::size_t cue);
int count_words(std::string_view text);

// Throws InputError for a script without dialogue.
ScriptArc script_arc(const Script& script, const Vader& vader, const ArcOptions& options = {});

// The six shapes at kArcPoints points, in the order above, with their names.
const std::vector<std::pair<std::string, std::array<double, kArcPoints>>>& reagan_shapes();

// Pearson correlation of two arcs (0 when either is flat).
double correlation(const std::array<double, kArcPoints>& a, const std::array<double, kArcPoints>& b);

// The corpus' leading modes of variation: the arcs with their means
// removed, their covariance's top `k` eigenvectors (Jacobi), each arc's
// coordinates on them and the share of variance each explains.
struct ArcModes {
  std::vector<std::array<double, kArcPoints>> modes;
  std::vector<double> explained;
  std::vector<std::vector<double>> coordinates;  // per arc
};
ArcModes arc_modes(const std::vector<std::array<double, kArcPoints>>& arcs, int k);

}  // namespace plotforge::emotion
