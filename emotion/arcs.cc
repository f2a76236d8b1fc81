#include "emotion/arcs.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "datasets/annotations.h"

namespace plotforge::emotion {

namespace {

constexpr double kPi = 3.14159265358979323846;

double t_of(int i) { return (i + 0.5) / kArcPoints; }

}  // namespace

int count_words(std::string_view s) {
  int n = 0;
  bool in = false;
  for (unsigned char c : s) {
    const bool space = std::isspace(c);
    n += !space && !in;
    in = !space;
  }
  return n;
}

std::string speech_text(const Script& script, std::size_t cue) {
  std::string text;
  for (std::size_t k = cue + 1; k < script.elements.size(); ++k) {
    const Element& d = script.elements[k];
    if (d.type == ElementType::kDialogue) {
      text += (text.empty() ? "" : " ") + d.text;
    } else if (d.type != ElementType::kParenthetical) {
      break;
    }
  }
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

const std::vector<std::pair<std::string, std::array<double, kArcPoints>>>& reagan_shapes() {
  static const auto shapes = [] {
    std::vector<std::pair<std::string, std::array<double, kArcPoints>>> s;
    auto make = [&](const char* name, auto f) {
      std::array<double, kArcPoints> a{};
      for (int i = 0; i < kArcPoints; ++i) a[i] = f(t_of(i));
      s.emplace_back(name, a);
    };
    make("rags_to_riches", [](double t) { return t; });
    make("riches_to_rags", [](double t) { return -t; });
    make("man_in_a_hole", [](double t) { return std::cos(2 * kPi * t); });  // fall, rise
    make("icarus", [](double t) { return -std::cos(2 * kPi * t); });        // rise, fall
    make("cinderella", [](double t) { return -std::cos(3 * kPi * t); });    // rise, fall, rise
    make("oedipus", [](double t) { return std::cos(3 * kPi * t); });        // fall, rise, fall
    return s;
  }();
  return shapes;
}

double correlation(const std::array<double, kArcPoints>& a, const std::array<double, kArcPoints>& b) {
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / kArcPoints;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / kArcPoints;
  double sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < kArcPoints; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

ScriptArc script_arc(const Script& script, const Vader& vader, const ArcOptions& options) {
  ScriptArc out;
  out.source = script.source;
  out.title = script.title_field("title");
  const Annotations notes = annotate(script);
  out.genres = notes.genres;
  // Scenes by the index of their heading, to place each speech.
  std::vector<int> scene_of(script.elements.size(), -1);
  for (std::size_t s = 0; s < notes.scenes.size(); ++s) {
    const SceneInfo& sc = notes.scenes[s];
    for (std::size_t e = sc.heading; e < sc.end && e < scene_of.size(); ++e) scene_of[e] = static_cast<int>(s);
    SceneValence v;
    v.heading = script.elements[sc.heading].text;
    v.act = sc.act;
    v.line = script.elements[sc.heading].line;
    out.scenes.push_back(v);
  }
  long long time = 0;
  for (std::size_t e = 0; e < script.elements.size(); ++e) {
    const Element& el = script.elements[e];
    if (el.type != ElementType::kCharacter) continue;
    Speech sp;
    sp.line = el.line;
    sp.character = el.text;
    sp.scene = scene_of[e];
    const std::string text = speech_text(script, e);
    sp.words = count_words(text);
    if (sp.words == 0) continue;
    sp.start = time;
    sp.valence = vader.score(text).compound;
    time += sp.words;
    if (sp.scene >= 0 && out.scenes[sp.scene].speeches == 0) out.scenes[sp.scene].start = sp.start;
    out.speeches.push_back(std::move(sp));
  }
  out.words = time;
  if (out.speeches.empty()) throw InputError(script.source + ": no dialogue to read an emotional arc from");

  // Per scene and per character: word-weighted means.
  std::vector<double> scene_words(out.scenes.size(), 0);
  std::map<std::string, double> character_words;
  for (const Speech& sp : out.speeches) {
    if (sp.scene >= 0) {
      out.scenes[sp.scene].valence += sp.valence * sp.words;
      scene_words[sp.scene] += sp.words;
      ++out.scenes[sp.scene].speeches;
    }
    auto& [sum, n] = out.characters[sp.character];
    sum += sp.valence * sp.words;
    ++n;
    character_words[sp.character] += sp.words;
  }
  for (std::size_t s = 0; s < out.scenes.size(); ++s) {
    if (scene_words[s] > 0) out.scenes[s].valence /= scene_words[s];
  }
  for (auto& [name, v] : out.characters) v.first /= character_words[name];

  // The window arc.
  const double window = options.window > 0 ? options.window : std::max(100.0, static_cast<double>(out.words) / 10);
  for (int i = 0; i < kArcPoints; ++i) {
    const double centre = t_of(i) * static_cast<double>(out.words);
    const double lo = centre - window / 2, hi = centre + window / 2;
    double sum = 0, weight = 0;
    for (const Speech& sp : out.speeches) {
      const double a = std::max<double>(lo, sp.start), b = std::min<double>(hi, sp.start + sp.words);
      if (b > a) {
        sum += sp.valence * (b - a);
        weight += b - a;
      }
    }
    out.arc[i] = weight > 0 ? sum / weight : 0;
  }

  // The DCT arc: DCT-II of the speech valences, the lowest components kept,
  // the inverse evaluated at 100 points across the same span.
  const std::size_t m = out.speeches.size();
  const int keep = std::max(1, std::min<int>(options.low_pass, static_cast<int>(m)));
  std::vector<double> coef(keep, 0);
  for (int k = 0; k < keep; ++k) {
    for (std::size_t n = 0; n < m; ++n) coef[k] += out.speeches[n].valence * std::cos(kPi * k * (n + 0.5) / m);
  }
  for (int i = 0; i < kArcPoints; ++i) {
    const double x = t_of(i) * m;  // position in speech units
    double v = coef[0] / m;
    for (int k = 1; k < keep; ++k) v += 2.0 / m * coef[k] * std::cos(kPi * k * x / m);
    out.arc_dct[i] = v;
  }
  const auto [mn, mx] = std::minmax_element(out.arc_dct.begin(), out.arc_dct.end());
  const double lo = *mn, range = *mx - *mn;
  for (double& v : out.arc_dct) v = range > 0 ? 2 * (v - lo) / range - 1 : 0;

  for (const auto& [name, shape] : reagan_shapes()) out.shapes.push_back({name, correlation(out.arc_dct, shape)});
  std::stable_sort(out.shapes.begin(), out.shapes.end(), [](const Shape& a, const Shape& b) { return a.r > b.r; });
  out.shape = out.shapes.front();
  return out;
}

ArcModes arc_modes(const std::vector<std::array<double, kArcPoints>>& arcs, int k) {
  ArcModes out;
  const std::size_t s = arcs.size();
  if (s == 0) return out;
  // Centred arcs and their covariance.
  std::vector<std::array<double, kArcPoints>> x = arcs;
  for (auto& a : x) {
    const double mean = std::accumulate(a.begin(), a.end(), 0.0) / kArcPoints;
    for (double& v : a) v -= mean;
  }
  const int n = kArcPoints;
  std::vector<double> c(n * n, 0), vec(n * n, 0);
  for (const auto& a : x)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) c[i * n + j] += a[i] * a[j];
  for (int i = 0; i < n; ++i) vec[i * n + i] = 1;
  // Cyclic Jacobi rotations until the off-diagonal is negligible.
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) off += c[i * n + j] * c[i * n + j];
    if (off < 1e-22) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = c[p * n + q];
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (c[q * n + q] - c[p * n + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int r = 0; r < n; ++r) {
          const double crp = c[r * n + p], crq = c[r * n + q];
          c[r * n + p] = cs * crp - sn * crq;
          c[r * n + q] = sn * crp + cs * crq;
        }
        for (int r = 0; r < n; ++r) {
          const double cpr = c[p * n + r], cqr = c[q * n + r];
          c[p * n + r] = cs * cpr - sn * cqr;
          c[q * n + r] = sn * cpr + cs * cqr;
        }
        for (int r = 0; r < n; ++r) {
          const double vrp = vec[r * n + p], vrq = vec[r * n + q];
          vec[r * n + p] = cs * vrp - sn * vrq;
          vec[r * n + q] = sn * vrp + cs * vrq;
        }
      }
    }
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return c[a * n + a] > c[b * n + b]; });
  double total = 0;
  for (int i = 0; i < n; ++i) total += std::max(0.0, c[i * n + i]);
  out.coordinates.assign(s, {});
  for (int m = 0; m < std::min(k, n); ++m) {
    std::array<double, kArcPoints> mode{};
    for (int i = 0; i < n; ++i) mode[i] = vec[i * n + order[m]];
    // A sign convention, so modes compare across runs: the mode ends higher than it starts.
    if (mode[n - 1] < mode[0]) {
      for (double& v : mode) v = -v;
    }
    out.modes.push_back(mode);
    out.explained.push_back(total > 0 ? std::max(0.0, c[order[m] * n + order[m]]) / total : 0);
    for (std::size_t a = 0; a < s; ++a) {
      double dot = 0;
      for (int i = 0; i < n; ++i) dot += x[a][i] * mode[i];
      out.coordinates[a].push_back(dot);
    }
  }
  return out;
}

}  // namespace plotforge::emotion
