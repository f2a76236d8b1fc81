#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/nn/functional/loss.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "datasets/annotations.h"
#include "datasets/corpus.h"
#include "datasets/documents.h"
#include "datasets/loader.h"
#include "datasets/tokenizer.h"
#include "emotion/scene_labels.h"
#include "eval/text_metrics.h"
#include "models/generate.h"
#include "training/batch_tensors.h"
#include "training/checkpoint.h"
#include "training/classifier_objective.h"
#include "training/gan_objective.h"
#include "training/run.h"
#include "training/trainer.h"
#include "training/vae_objective.h"

namespace plotforge {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Scene {
  std::vector<int> ids;
  int genre = -1, beat = -1;  // indices into the corpus' genres / beat_vocabulary()
  int valence = -1;           // index into valence_vocabulary(): derived labels only
};

struct Condition {
  std::string genre, beat, valence;
};

// A set of scenes (generated or real) with the labels they were asked for.
struct SampleSet {
  std::vector<std::vector<int>> ids;  // prompt + generation
  std::vector<Condition> asked;
};

// Summed next-token NLL of one row of logits [1, T, V] against ids[1..T].
double nll_sum(const torch::Tensor& logits, const std::vector<int>& ids) {
  std::vector<std::int64_t> t(ids.begin() + 1, ids.end());
  const auto target = torch::tensor(t, torch::kInt64);
  return torch::nn::functional::cross_entropy(logits.squeeze(0).to(torch::kFloat32), target,
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
      .item<double>();
}

torch::Tensor row(const std::vector<int>& ids, std::size_t n) {
  std::vector<std::int64_t> v(ids.begin(), ids.begin() + static_cast<long>(n));
  return torch::tensor(v, torch::kInt64).unsqueeze(0);
}

std::vector<int> cut(const std::vector<int>& ids, int max_tokens) {
  return std::vector<int>(ids.begin(), ids.begin() + std::min<long>(ids.size(), max_tokens));
}

class Evaluation {
 public:
  explicit Evaluation(const EvalOptions& o) : o_(o) {
    if (o.transformer.empty() && o.vae.empty() && o.gan.empty()) {
      throw InputError("give at least one generator: --transformer, --vae or --gan (run directories)");
    }
    if (o.samples < 2) throw InputError("--samples: must be at least 2 (Self-BLEU compares samples)");
    if (o.temperatures.empty()) throw InputError("--temperatures: give at least one");
    for (float t : o.temperatures) {
      if (!(t > 0)) throw InputError("--temperatures: each must be positive");
    }
    corpus_ = std::make_shared<CorpusData>(read_corpus(o.data));
    fs::create_directories(o.out);
    const std::string tok_path = (fs::path(o.out) / "tokenizer.model").string();
    write_file_atomic(tok_path, corpus_->tokenizer_model);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(tok_path));
    for (const auto& [name, id] : corpus_->control_tokens) control_ids_.push_back(id);
    stop_ = {tok_->piece_id(scene_token())};  // and EOS
    load_scenes();
  }

  std::string run() {
    json report;
    report["corpus"] = o_.data;
    report["samples_per_point"] = o_.samples;
    report["max_new_tokens"] = o_.max_new_tokens;
    report["references"] = references_.size();
    report["seed"] = o_.seed;
    if (!o_.classifier.empty()) report["classifier"] = classifier_report();
    report["real"] = score("real", 0, real_);
    json points = json::array();
    if (!o_.transformer.empty()) {
      Transformer model = load_transformer();
      report["perplexity"]["transformer"] = transformer_perplexity(model);
      for (float t : o_.temperatures) points.push_back(score("transformer", t, sample_transformer(model, t)));
    }
    if (!o_.vae.empty()) {
      LoadedVAE vae = checked(load_vae(o_.vae));
      report["perplexity"]["vae"] = vae_perplexity(vae);
      for (float t : o_.temperatures) points.push_back(score("vae", t, sample_vae(vae, t, nullptr)));
      if (!o_.gan.empty()) {
        LoadedGAN gan = load_gan(o_.gan);
        for (float t : o_.temperatures) points.push_back(score("gan", t, sample_vae(vae, t, &gan)));
      }
    } else if (!o_.gan.empty()) {
      LoadedGAN gan = load_gan(o_.gan);
      LoadedVAE vae = checked(load_vae(gan.vae));
      for (float t : o_.temperatures) points.push_back(score("gan", t, sample_vae(vae, t, &gan)));
    }
    report["points"] = points;
    const std::string text = report.dump(2);
    write_file_atomic((fs::path(o_.out) / "report.json").string(), text + "\n");
    write_file_atomic((fs::path(o_.out) / "report.txt").string(), summary(report));
    return text;
  }

 private:
  // Validation scenes, in the loader's fixed order: the first `references`
  // are BLEU's references, the next `samples` the real sample set, and the
  // first perplexity_scenes the perplexity set.
  void load_scenes() {
    LoaderOptions lo;
    lo.split = Split::kValidation;
    lo.batch_size = 1;
    lo.seed = o_.seed;
    lo.prefetch = 0;
    SceneLoader loader(corpus_, 1 << 20, lo);
    genres_ = loader.genres();
    const std::uint64_t n = loader.scenes();
    for (std::uint64_t i = 0; i < n; ++i) {
      const SceneBatch b = loader.make(i);
      Scene s;
      s.ids = scene_rows(b)[0];
      s.genre = b.genre[0];
      s.beat = b.beat[0];
      s.valence = b.valence[0];
      has_valence_ = has_valence_ || s.valence >= 0;
      if (s.ids.size() >= 2) scenes_.push_back(std::move(s));
    }
    if (scenes_.size() < 4) {
      throw InputError(o_.data + ": the validation split has " + std::to_string(scenes_.size()) +
                       " scenes; evaluation needs at least 4 (prepare with a larger --val-fraction)");
    }
    // References and the real sample set must not overlap. Both are cut to
    // the generated scenes' length (a prompt of a few control tokens plus
    // max_new_tokens), so BLEU compares like with like.
    const int length = o_.max_new_tokens + 4;
    const std::size_t n_real = std::min<std::size_t>(o_.samples, scenes_.size() / 2);
    const std::size_t n_ref = std::min<std::size_t>(o_.references, scenes_.size() - n_real);
    for (std::size_t i = 0; i < n_ref; ++i) references_.push_back(words(text_of(cut(scenes_[i].ids, length))));
    for (std::size_t i = n_ref; i < n_ref + n_real; ++i) {
      real_.ids.push_back(cut(scenes_[i].ids, length));
      const Scene& s = scenes_[i];
      real_.asked.push_back({s.genre >= 0 ? genres_[s.genre] : "", s.beat >= 0 ? beat_vocabulary()[s.beat] : "",
                             s.valence >= 0 ? valence_vocabulary()[s.valence] : ""});
    }
  }

  std::string text_of(const std::vector<int>& ids) const { return strip_control_tokens(tok_->decode(ids)); }

  void check_tokenizer(const std::string& tokenizer_sha256, const std::string& checkpoint) const {
    if (tokenizer_sha256 != corpus_->tokenizer_sha256) {
      throw InputError(checkpoint + ": trained with another tokenizer than " + o_.data +
                       " uses; evaluate on its corpus");
    }
  }
  LoadedVAE checked(LoadedVAE v) const {
    check_tokenizer(v.tokenizer_sha256, v.checkpoint);
    recalibrate_latent_norm(v.model, corpus_);
    return v;
  }

  Transformer load_transformer() {
    const OpenedRun run = open_run(o_.transformer, "transformer");
    check_tokenizer(run.state.tokenizer_sha256, run.checkpoint);
    Transformer m = plotforge::load_transformer(run);
    m->eval();
    return m;
  }

  std::vector<Condition> conditions() const {
    std::vector<std::string> beats(beat_vocabulary().begin(), beat_vocabulary().begin() + 5);  // Freytag's five
    std::vector<Condition> out;
    for (const auto& b : beats) {
      if (genres_.empty()) out.push_back({"", b, ""});
      for (const auto& g : genres_) out.push_back({g, b, ""});
    }
    // On a corpus with derived valence labels, the conditions take the
    // valence classes in turn too (the Transformer reads them; docs/emotion.md).
    if (has_valence_) {
      for (std::size_t i = 0; i < out.size(); ++i) out[i].valence = valence_vocabulary()[i % 3];
    }
    return out;
  }

  void progress(const std::string& what) const {
    if (!o_.quiet) std::fprintf(stderr, "eval: %s\n", what.c_str());
  }

  // ---- perplexity
  json transformer_perplexity(Transformer& m) {
    torch::NoGradGuard no_grad;
    double nll = 0;
    long tokens = 0;
    const std::size_t n = std::min<std::size_t>(o_.perplexity_scenes, scenes_.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto ids = cut(scenes_[i].ids, m->config().context);
      nll += nll_sum(m->forward(row(ids, ids.size() - 1)), ids);
      tokens += static_cast<long>(ids.size()) - 1;
    }
    progress("transformer perplexity on " + std::to_string(n) +
             " validation scenes: " + std::to_string(std::exp(nll / tokens)));
    return {{"scenes", n}, {"tokens", tokens}, {"perplexity", std::exp(nll / tokens)}};
  }

  json vae_perplexity(LoadedVAE& v) {
    torch::NoGradGuard no_grad;
    double nll_mean = 0, nll_sample = 0, kl = 0;
    long tokens = 0;
    std::vector<torch::Tensor> mus, logvars;
    at::Generator gen = at::detail::createCPUGenerator(o_.seed);
    const std::size_t n = std::min<std::size_t>(o_.perplexity_scenes, scenes_.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto ids = cut(scenes_[i].ids, v.model->config().decoder.context);
      const Posterior q = v.model->encode(row(ids, ids.size()));
      const auto z = q.mu + (0.5 * q.logvar).exp() * at::randn(q.mu.sizes(), gen, q.mu.options());
      nll_mean += nll_sum(v.model->decode(row(ids, ids.size() - 1), q.mu), ids);
      nll_sample += nll_sum(v.model->decode(row(ids, ids.size() - 1), z), ids);
      kl += kl_per_dimension(q).sum().item<double>();
      tokens += static_cast<long>(ids.size()) - 1;
      mus.push_back(q.mu);
      logvars.push_back(q.logvar);
    }
    const LatentStats st = latent_stats(torch::cat(mus), torch::cat(logvars), 0.01, o_.seed);
    const double free_bits_floor = v.settings.free_bits * v.settings.latent;
    progress("VAE reconstruction perplexity " + std::to_string(std::exp(nll_mean / tokens)) + ", active units " +
             std::to_string(st.active_units) + "/" + std::to_string(v.settings.latent));
    return {{"scenes", n},
            {"tokens", tokens},
            {"reconstruction_perplexity", std::exp(nll_mean / tokens)},
            {"bound_perplexity", std::exp((nll_sample + kl) / tokens)},
            {"kl_per_scene", kl / n},
            {"free_bits_floor", free_bits_floor},
            {"latent", v.settings.latent},
            {"active_units", st.active_units},
            {"mutual_information", st.mutual_information}};
  }

  // ---- sampling
  SamplingParams sampling(float temperature, int n, std::uint64_t salt) const {
    SamplingParams s;
    s.temperature = temperature;
    s.max_new_tokens = o_.max_new_tokens;
    s.n = n;
    s.seed = o_.seed * 1000003 + salt;
    s.stop_tokens = stop_;
    return s;
  }
  // p.n completions of `prompt`, as token ids (one scene each: stop_ ends them).
  std::vector<std::vector<int>> sample_ids(Transformer& m, const std::vector<int>& prompt, const SamplingParams& p,
                                           const Conditioning* cond = nullptr) const {
    std::vector<std::vector<int>> ids;
    for (auto& c : generate(m, prompt, p, tok_->eos_id(), nullptr, cond)) ids.push_back(std::move(c.tokens));
    return ids;
  }

  // Calls make(condition, count, salt) for each condition with its share of
  // the samples; collects prompt + generation.
  template <typename Make>
  SampleSet sample_each_condition(const std::string& name, float t, Make make) {
    const auto conds = conditions();
    SampleSet set;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t c = 0; c < conds.size(); ++c) {
      const int count = o_.samples / static_cast<int>(conds.size()) +
                        (static_cast<int>(c) < o_.samples % static_cast<int>(conds.size()) ? 1 : 0);
      if (count == 0) continue;
      const auto [prompt, outs] = make(conds[c], count, static_cast<std::uint64_t>(c));
      for (const auto& g : outs) {
        std::vector<int> all = prompt;
        all.insert(all.end(), g.begin(), g.end());
        set.ids.push_back(std::move(all));
        set.asked.push_back(conds[c]);
        if (name != "transformer") set.asked.back().valence.clear();  // only the Transformer reads it
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s at temperature %.2f: %zu samples in %.1f s", name.c_str(), t, set.ids.size(), s);
    progress(buf);
    return set;
  }

  SampleSet sample_transformer(Transformer& m, float t) {
    return sample_each_condition("transformer", t, [&](const Condition& c, int count, std::uint64_t salt) {
      const auto prompt = tok_->encode(conditioning_prompt(*tok_, {c.genre, c.beat, "", c.valence}, ""));
      return std::make_pair(prompt, sample_ids(m, prompt, sampling(t, count, salt)));
    });
  }

  // The VAE from the prior (steered to the genre by its attribute vector),
  // or from the GAN's codes for the genre.
  SampleSet sample_vae(LoadedVAE& v, float t, LoadedGAN* gan) {
    torch::NoGradGuard no_grad;
    if (!gan && attributes_.empty()) {
      attributes_ = attribute_vectors(v.model, corpus_, "genre");
      progress("VAE genre attribute vectors for " + std::to_string(attributes_.size()) + " genres");
    }
    const int latent = v.model->config().latent;
    return sample_each_condition(gan ? "gan" : "vae", t, [&](const Condition& c, int count, std::uint64_t salt) {
      at::Generator gen = at::detail::createCPUGenerator(o_.seed * 7919 + salt);
      torch::Tensor z;
      if (gan) {
        const auto it = std::find(gan->genres.begin(), gan->genres.end(), c.genre);
        const int64_t g = gan->config.n_genres > 0 && it != gan->genres.end() ? it - gan->genres.begin() : -1;
        const auto noise = at::randn({count, gan->config.noise}, gen, torch::kFloat32);
        z = gan->generator->forward(noise, torch::full({count}, g, torch::kInt64));
      } else {
        z = at::randn({count, latent}, gen, torch::kFloat32);
        const auto it = attributes_.find(c.genre);
        if (it != attributes_.end()) z = z + it->second;
      }
      const auto prompt = tok_->encode(conditioning_prompt(*tok_, {"", c.beat, "", ""}, ""));
      const Conditioning cond = v.model->condition(z);
      return std::make_pair(prompt, sample_ids(v.model->decoder, prompt, sampling(t, count, salt), &cond));
    });
  }

  // ---- classifier
  void ensure_classifier() {
    if (!classifier_.model) {
      classifier_ = load_classifier(o_.classifier);
      check_tokenizer(classifier_.tokenizer_sha256, classifier_.checkpoint);
    }
  }

  // Predicted (genre, beat, valence) names per row.
  std::vector<Condition> classify(const std::vector<std::vector<int>>& rows) {
    torch::NoGradGuard no_grad;
    ensure_classifier();
    std::vector<Condition> out;
    const int ctx = classifier_.model->config().encoder.context;
    for (std::size_t i = 0; i < rows.size(); i += 16) {
      const std::vector<std::vector<int>> chunk(rows.begin() + i, rows.begin() + std::min(rows.size(), i + 16));
      const ClassifierLogits l = classifier_.model->forward(padded_rows(chunk, control_ids_, ctx, torch::kCPU));
      const auto g = l.genre.argmax(-1), b = l.beat.argmax(-1), v = l.valence.argmax(-1);
      for (std::size_t r = 0; r < chunk.size(); ++r) {
        const int64_t gi = g[r].item<int64_t>(), bi = b[r].item<int64_t>(), vi = v[r].item<int64_t>();
        out.push_back({gi < static_cast<int64_t>(classifier_.genres.size()) ? classifier_.genres[gi] : "",
                       beat_vocabulary()[bi], valence_vocabulary()[vi]});
      }
    }
    return out;
  }

  json classifier_report() {
    std::vector<std::vector<int>> rows;
    for (const auto& s : scenes_) rows.push_back(s.ids);
    const auto predicted = classify(rows);
    auto confusion = [&](const std::vector<std::string>& labels, auto truth_of, auto pred_of) {
      std::vector<std::vector<long>> m(labels.size(), std::vector<long>(labels.size(), 0));
      long ok = 0, n = 0;
      for (std::size_t i = 0; i < scenes_.size(); ++i) {
        const int t = truth_of(scenes_[i]);
        if (t < 0) continue;
        const auto it = std::find(labels.begin(), labels.end(), pred_of(predicted[i]));
        if (it == labels.end()) continue;
        ++m[t][it - labels.begin()];
        ok += (it - labels.begin()) == t;
        ++n;
      }
      return json{
          {"labels", labels}, {"matrix", m}, {"scenes", n}, {"accuracy", n ? static_cast<double>(ok) / n : -1.0}};
    };
    json j;
    j["genre"] = confusion(
        genres_, [](const Scene& s) { return s.genre; }, [](const Condition& c) { return c.genre; });
    j["beat"] = confusion(
        beat_vocabulary(), [](const Scene& s) { return s.beat; }, [](const Condition& c) { return c.beat; });
    j["valence"] = confusion(
        valence_vocabulary(), [](const Scene& s) { return s.valence; }, [](const Condition& c) { return c.valence; });
    progress("classifier on real validation scenes: genre accuracy " + j["genre"]["accuracy"].dump() +
             ", beat accuracy " + j["beat"]["accuracy"].dump() + ", valence accuracy " +
             j["valence"]["accuracy"].dump());
    return j;
  }

  // ---- scoring
  json score(const std::string& generator, float temperature, const SampleSet& set) {
    std::vector<Words> w;
    for (const auto& ids : set.ids) w.push_back(words(text_of(ids)));
    long total_words = 0;
    for (const auto& x : w) total_words += static_cast<long>(x.size());
    json j = {{"generator", generator},
              {"samples", set.ids.size()},
              {"bleu4", bleu(w, references_)},
              {"self_bleu4", self_bleu(w)},
              {"distinct1", distinct_n(w, 1)},
              {"distinct2", distinct_n(w, 2)},
              {"distinct3", distinct_n(w, 3)},
              {"repetition4", repetition_rate(w, 4)},
              {"words_per_sample", static_cast<double>(total_words) / std::max<std::size_t>(1, w.size())}};
    if (generator != "real") j["temperature"] = temperature;
    // Valence adherence read directly too: VADER's class of the generated text.
    long vv_ok = 0, vv_n = 0;
    for (std::size_t i = 0; i < set.ids.size(); ++i) {
      if (set.asked[i].valence.empty()) continue;
      const auto reading = emotion::read_passage(text_of(set.ids[i]), emotion::Vader::builtin());
      if (reading.words == 0) continue;
      ++vv_n;
      vv_ok += emotion::valence_class(reading.valence) == set.asked[i].valence;
    }
    if (vv_n) j["valence_adherence_vader"] = static_cast<double>(vv_ok) / vv_n;
    if (!o_.classifier.empty()) {
      const auto predicted = classify(set.ids);
      long g_ok = 0, g_n = 0, b_ok = 0, b_n = 0, v_ok = 0, v_n = 0;
      for (std::size_t i = 0; i < predicted.size(); ++i) {
        if (!set.asked[i].genre.empty()) {
          ++g_n;
          g_ok += predicted[i].genre == set.asked[i].genre;
        }
        if (!set.asked[i].beat.empty()) {
          ++b_n;
          b_ok += predicted[i].beat == set.asked[i].beat;
        }
        if (!set.asked[i].valence.empty()) {
          ++v_n;
          v_ok += predicted[i].valence == set.asked[i].valence;
        }
      }
      if (v_n) j["valence_adherence"] = static_cast<double>(v_ok) / v_n;
      j["genre_adherence"] = g_n ? static_cast<double>(g_ok) / g_n : -1.0;
      j["beat_adherence"] = b_n ? static_cast<double>(b_ok) / b_n : -1.0;
    }
    return j;
  }

  static std::string summary(const json& r) {
    std::ostringstream s;
    char buf[256];
    s << "plotforge eval: " << r["corpus"].get<std::string>() << "\n\n";
    if (r.contains("perplexity")) {
      s << "perplexity on validation scenes\n";
      if (r["perplexity"].contains("transformer")) {
        std::snprintf(buf, sizeof buf, "  transformer              %8.3f\n",
                      r["perplexity"]["transformer"]["perplexity"].get<double>());
        s << buf;
      }
      if (r["perplexity"].contains("vae")) {
        const auto& v = r["perplexity"]["vae"];
        std::snprintf(buf, sizeof buf,
                      "  vae reconstruction       %8.3f\n  vae bound                %8.3f\n"
                      "  vae KL per scene         %8.3f (free-bits floor %.2f)\n  vae active units         %5d / %d\n"
                      "  vae I(x;z)               %8.3f\n",
                      v["reconstruction_perplexity"].get<double>(), v["bound_perplexity"].get<double>(),
                      v["kl_per_scene"].get<double>(), v["free_bits_floor"].get<double>(), v["active_units"].get<int>(),
                      v["latent"].get<int>(), v["mutual_information"].get<double>());
        s << buf;
      }
      s << "\n";
    }
    if (r.contains("classifier")) {
      std::snprintf(buf, sizeof buf,
                    "classifier on real validation scenes: genre accuracy %.3f, beat accuracy %.3f, valence accuracy "
                    "%.3f\n\n",
                    r["classifier"]["genre"]["accuracy"].get<double>(),
                    r["classifier"]["beat"]["accuracy"].get<double>(),
                    r["classifier"]["valence"]["accuracy"].get<double>());
      s << buf;
    }
    s << "generator    temp  BLEU-4  Self-BLEU-4  dist-1  dist-2  dist-3  rep-4  genre-adh  beat-adh  val-adh  "
         "val-vader  words\n";
    auto line = [&](const json& p) {
      const double t = p.contains("temperature") ? p["temperature"].get<double>() : 0;
      std::snprintf(buf, sizeof buf,
                    "%-11s  %4.2f  %6.3f  %11.3f  %6.3f  %6.3f  %6.3f  %5.3f  %9.3f  %8.3f  %7.3f  %9.3f  %5.0f\n",
                    p["generator"].get<std::string>().c_str(), t, p["bleu4"].get<double>(),
                    p["self_bleu4"].get<double>(), p["distinct1"].get<double>(), p["distinct2"].get<double>(),
                    p["distinct3"].get<double>(), p["repetition4"].get<double>(), p.value("genre_adherence", -1.0),
                    p.value("beat_adherence", -1.0), p.value("valence_adherence", -1.0),
                    p.value("valence_adherence_vader", -1.0), p["words_per_sample"].get<double>());
      s << buf;
    };
    line(r["real"]);
    for (const auto& p : r["points"]) line(p);
    s << "\n(adherence -1: no classifier given; real scenes' 'adherence' is the classifier's accuracy on them)\n";
    return s.str();
  }

  EvalOptions o_;
  std::shared_ptr<CorpusData> corpus_;
  std::unique_ptr<Tokenizer> tok_;
  std::vector<int> control_ids_, stop_;
  std::vector<std::string> genres_;
  std::vector<Scene> scenes_;
  std::vector<Words> references_;
  SampleSet real_;
  std::map<std::string, torch::Tensor> attributes_;
  LoadedClassifier classifier_;
  bool has_valence_ = false;  // the validation scenes carry derived valence labels
};

}  // namespace

std::string evaluate_generators(const EvalOptions& options) {
  Evaluation e(options);
  return e.run();
}

}  // namespace plotforge
