#include "recommendation/script_features.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <torch/torch.h>

#include "base/error.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"
#include "datasets/tokenizer.h"
#include "emotion/arcs.h"
#include "training/vae_objective.h"

namespace plotforge::recommendation {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> script_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(in)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".fountain" || ext == ".spmd")) found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in)) {
      out.push_back(in);
    } else {
      throw InputError(in + ": no such file or directory");
    }
  }
  if (out.empty()) throw InputError("no Fountain scripts (.fountain, .spmd) found in the inputs");
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", x);
  return buf;
}

// The mean over the script's scenes (its first `max_scenes`) of the VAE's
// posterior means.
std::vector<double> vae_embedding(LoadedVAE& vae, const Tokenizer& tok, const std::string& path, int max_scenes) {
  torch::NoGradGuard no_grad;
  const auto docs = read_documents(path);
  if (docs.empty() || docs[0].scenes.empty()) throw InputError(path + ": no scene for the VAE to read");
  const Document& d = docs[0];
  const int context = vae.model->config().decoder.context;
  std::vector<double> sum(vae.model->config().latent, 0.0);
  int n = 0;
  for (const SceneSpan& s : d.scenes) {
    if (n == max_scenes) break;
    std::vector<int> ids = tok.encode(std::string_view(d.text).substr(s.begin, s.end - s.begin));
    if (ids.empty()) continue;
    ids.resize(std::min<std::size_t>(ids.size(), context));
    const std::vector<std::int64_t> v(ids.begin(), ids.end());
    const auto mu = vae.model->encode(torch::tensor(v, torch::kInt64).unsqueeze(0)).mu.squeeze(0);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += mu[static_cast<std::int64_t>(i)].item<double>();
    ++n;
  }
  for (double& x : sum) x /= std::max(1, n);
  return sum;
}

}  // namespace

std::string script_features_csv(const std::vector<std::string>& inputs, const ScriptFeatureOptions& o,
                                const std::function<void(std::size_t, std::size_t, const std::string&)>& progress) {
  const auto files = script_files(inputs);
  std::unique_ptr<LoadedVAE> vae;
  std::unique_ptr<Tokenizer> tok;
  if (!o.vae.empty()) {
    vae = std::make_unique<LoadedVAE>(load_vae(o.vae));
    vae->model->eval();
    tok = std::make_unique<Tokenizer>(Tokenizer::load(vae->tokenizer));
  }
  std::string out = "item,genre,shape,valence_q1,valence_q2,valence_q3,valence_q4,valence";
  for (int i = 0; vae && i < vae->model->config().latent; ++i) out += ",vae_" + std::to_string(i + 1);
  out += "\n";
  std::map<std::string, std::string> seen;
  for (const auto& f : files) {
    const std::string item = fs::path(f).stem().string();
    if (!seen.emplace(item, f).second) {
      throw InputError(f + ": item '" + item + "' is also " + seen[item] + "; rename one of the scripts");
    }
    const emotion::ScriptArc arc = emotion::script_arc(read_fountain_file(f), emotion::Vader::builtin());
    std::string genres;
    for (const auto& g : arc.genres) genres += (genres.empty() ? "" : "|") + g;
    out += csv_field(item) + "," + csv_field(genres.empty() ? "none" : genres) + "," + arc.shape.name;
    constexpr int q = emotion::kArcPoints / 4;
    for (int part = 0; part < 4; ++part) {
      double m = 0;
      for (int t = part * q; t < (part + 1) * q; ++t) m += arc.arc_dct[t];
      out += "," + number(m / q);
    }
    double mean = 0;
    for (double v : arc.arc) mean += v;
    out += "," + number(mean / emotion::kArcPoints);
    if (vae) {
      for (double x : vae_embedding(*vae, *tok, f, o.max_scenes)) out += "," + number(x);
    }
    out += "\n";
    if (progress) progress(seen.size(), files.size(), f);
  }
  return out;
}

}  // namespace plotforge::recommendation
