// The VAE, latent GAN and classifier through the real executable: training
// with the shared trainer (logs, exact resume, kind checks), the VAE's uses,
// and 'plotforge eval' with its plot.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;
using testing::plotforge_bin;
using testing::run;

const std::string& corpus() {
  static const std::string path = testing::prepared_sample_corpus(1000);
  return path;
}

std::string small(const std::string& kind, const std::string& out, int steps) {
  return plotforge_bin() + " train --kind " + kind + " --data " + corpus() + " --out " + out + " --max-steps " +
         std::to_string(steps) +
         " --batch-size 4 --model.dim 32 --model.n_layers 1 --model.n_heads 2 --model.context 48 --eval-every 10"
         " --eval-batches 2 --checkpoint-every 5 --log-every 1 --warmup-steps 2 --seed 5 --lr 3e-3";
}

std::vector<nlohmann::json> metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<long, double> losses(const std::string& run_dir) {
  std::map<long, double> out;
  for (const auto& j : metrics(run_dir)) {
    if (j.contains("loss")) out[j["step"].get<long>()] = j["loss"].get<double>();
  }
  return out;
}

// One small VAE shared by the tests that only use it.
const std::string& trained_vae() {
  static const std::string dir = [] {
    const std::string d = testing::temp_dir("vae-shared");
    const auto r = run(small("vae", d, 20) + " --vae.latent 8 --vae.cycles 2");
    if (r.exit_code != 0) throw std::runtime_error(r.output);
    return d;
  }();
  return dir;
}

TEST(VAETraining, LogsTheElboPartsAndLatentStatistics) {
  const std::string out = trained_vae();
  const auto m = metrics(out);
  bool saw_eval = false;
  for (const auto& j : m) {
    if (j.contains("loss")) {
      // Two cycles over 20 steps: beta 0 for steps 0-4, ramping over 5-7, 1 from 8 on.
      const long step = j["step"].get<long>() - 1;
      const double want = (step % 10) < 5 ? 0.0 : (step % 10) < 7.5 ? ((step % 10) - 5) / 2.5 : 1.0;
      EXPECT_NEAR(j["beta"].get<double>(), want, 1e-9) << "step " << step;
      EXPECT_GE(j["kl"].get<double>(), 0.0);
      EXPECT_GT(j["recon_nll_per_token"].get<double>(), 0.0);
    }
    if (j.contains("val_loss")) {
      saw_eval = true;
      for (const char* key : {"recon_ppl", "bound_ppl", "kl", "active_units", "mutual_information"}) {
        EXPECT_TRUE(j.contains(key)) << key;
      }
      EXPECT_LE(j["recon_ppl"].get<double>(), j["bound_ppl"].get<double>() * 1.5);
      EXPECT_LE(j["active_units"].get<int>(), 8);
    }
  }
  EXPECT_TRUE(saw_eval);
}

TEST(VAETraining, ResumesExactly) {
  const std::string a = testing::temp_dir("vae-straight"), b = testing::temp_dir("vae-resumed");
  ASSERT_EQ(run(small("vae", a, 12)).exit_code, 0);
  ASSERT_EQ(run(small("vae", b, 12) + " --stop-after 6").exit_code, 0);
  ASSERT_EQ(losses(b).size(), 6u);
  const auto r = run(small("vae", b, 12) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming from"), std::string::npos);
  const auto la = losses(a), lb = losses(b);
  ASSERT_EQ(la.size(), 12u);
  ASSERT_EQ(lb.size(), 12u);
  for (long s = 7; s <= 12; ++s) EXPECT_EQ(la.at(s), lb.at(s)) << "step " << s;
  // Validation uses the batch-norm running statistics: restored too.
  std::map<long, double> va, vb;
  for (const auto& j : metrics(a))
    if (j.contains("val_loss")) va[j["step"]] = j["val_loss"];
  for (const auto& j : metrics(b))
    if (j.contains("val_loss")) vb[j["step"]] = j["val_loss"];
  ASSERT_EQ(va.size(), 2u);
  EXPECT_EQ(va, vb);
}

// Optimus starts its decoder from a pretrained language model: a VAE can
// start from a Transformer run of the same shape, and says so; another
// shape is refused by name.
TEST(VAETraining, StartsItsDecoderFromATransformer) {
  const std::string tr = testing::temp_dir("init-transformer"), vae = testing::temp_dir("init-vae");
  ASSERT_EQ(run(small("transformer", tr, 30)).exit_code, 0);
  auto r = run(small("vae", vae, 2) + " --vae.init_decoder " + tr);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("VAE decoder initialized from"), std::string::npos) << r.output;
  // Its first reconstruction loss starts below a fresh decoder's.
  const std::string fresh = testing::temp_dir("init-fresh");
  ASSERT_EQ(run(small("vae", fresh, 2)).exit_code, 0);
  auto first = [&](const std::string& dir) {
    for (const auto& j : metrics(dir)) {
      if (j.contains("recon_nll_per_token")) return j["recon_nll_per_token"].get<double>();
    }
    return 0.0;
  };
  EXPECT_LT(first(vae), first(fresh) - 0.2);
  r = run(small("vae", testing::temp_dir("init-bad"), 2) + " --model.ffn_hidden 64 --vae.init_decoder " + tr);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("needs a Transformer of the decoder's shape"), std::string::npos) << r.output;
}

TEST(GANTraining, TrainsOnTheVAEsLatentsAndResumesExactlyWithItsCritic) {
  const std::string a = testing::temp_dir("gan-straight"), b = testing::temp_dir("gan-resumed");
  const std::string gan = " --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/scenes-gan.ini --gan.vae " +
                          trained_vae() + " --gan.hidden 32 --gan.n_critic 2";
  auto cmd = [&](const std::string& out, int steps) {
    return plotforge_bin() + " train --data " + corpus() + " --out " + out + gan + " --max-steps " +
           std::to_string(steps) + " --batch-size 8 --eval-every 5 --eval-batches 1 --checkpoint-every 5 --log-every 1";
  };
  auto r = run(cmd(a, 10));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("latent GAN (WGAN-GP)"), std::string::npos) << r.output;
  ASSERT_EQ(run(cmd(b, 10) + " --stop-after 5").exit_code, 0);
  r = run(cmd(b, 10) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ma = metrics(a), mb = metrics(b);
  std::map<long, std::pair<double, double>> wa, wb;
  for (const auto& j : ma)
    if (j.contains("wasserstein") && j.contains("loss")) wa[j["step"]] = {j["loss"], j["wasserstein"]};
  for (const auto& j : mb)
    if (j.contains("wasserstein") && j.contains("loss")) wb[j["step"]] = {j["loss"], j["wasserstein"]};
  ASSERT_EQ(wa.size(), 10u);
  for (long s = 6; s <= 10; ++s) EXPECT_EQ(wa.at(s), wb.at(s)) << "step " << s << ": critic state not restored exactly";
}

TEST(GANTraining, NeedsAVAE) {
  const auto r =
      run(plotforge_bin() + " train --kind gan --data " + corpus() + " --out " + testing::temp_dir("gan-novae"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("gan.vae"), std::string::npos) << r.output;
  const auto wrong = run(plotforge_bin() + " train --kind gan --data " + corpus() + " --out " +
                         testing::temp_dir("gan-wrongvae") + " --gan.vae " + testing::temp_dir("not-a-run"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.output.find("no valid checkpoint"), std::string::npos) << wrong.output;
}

TEST(Checkpoints, AKindIsNeverLoadedAsAnother) {
  // Resuming a VAE run as a Transformer fails and names both kinds.
  const auto r = run(small("transformer", trained_vae(), 25) + " --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("holds a vae model, not a transformer model"), std::string::npos) << r.output;
  const auto g = run(plotforge_bin() + " generate --checkpoint " + trained_vae());
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.output.find("not a transformer model"), std::string::npos) << g.output;
}

TEST(ClassifierTraining, ReportsAccuracies) {
  const std::string out = testing::temp_dir("classifier");
  const auto r = run(small("classifier", out, 10));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  bool saw = false;
  for (const auto& j : metrics(out)) {
    if (!j.contains("val_loss")) continue;
    saw = true;
    const double beat = j["beat_accuracy"].get<double>();
    EXPECT_TRUE(beat >= 0 && beat <= 1) << beat;  // the sample plays carry beats
  }
  EXPECT_TRUE(saw);
}

TEST(VAEUses, ReconstructInterpolateSampleAndSteer) {
  const std::string vae = trained_vae(), script = testing::sample_dir() + "/hamlet.fountain";
  auto r = testing::run_stdout(plotforge_bin() + " vae reconstruct --checkpoint " + vae + " --script " + script +
                               " --max-new-tokens 20");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("reconstruction"), std::string::npos);
  r = testing::run_stdout(plotforge_bin() + " vae interpolate --checkpoint " + vae + " --script " + script +
                          " --scene 1 --to " + script + " --to-scene 3 --steps 3 --max-new-tokens 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* t : {"t = 0.00", "t = 0.50", "t = 1.00"}) EXPECT_NE(r.output.find(t), std::string::npos) << r.output;
  r = testing::run_stdout(plotforge_bin() + " vae sample --checkpoint " + vae + " --n 2 --max-new-tokens 10" +
                          " --steer beat=climax --data " + corpus() + " --beat climax");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("==="), std::string::npos);
  r = run(plotforge_bin() + " vae interpolate --checkpoint " + vae + " --script " + script + " --scene 999 --to " +
          script);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--scene 999 is out of range"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " vae sample --checkpoint " + vae + " --steer mood=grim --data " + corpus());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not genre or beat"), std::string::npos) << r.output;
}

TEST(Eval, ReportsEveryGeneratorAndPlotsThePlane) {
  const std::string tr = testing::temp_dir("eval-transformer"), cls = testing::temp_dir("eval-classifier"),
                    out = testing::temp_dir("eval-out");
  ASSERT_EQ(run(small("transformer", tr, 5)).exit_code, 0);
  ASSERT_EQ(run(small("classifier", cls, 5)).exit_code, 0);
  const auto r = run(plotforge_bin() + " eval --data " + corpus() + " --out " + out + " --transformer " + tr +
                     " --vae " + trained_vae() + " --classifier " + cls +
                     " --samples 6 --temperatures 0.7,1.3 --max-new-tokens 12 --references 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(testing::read_text(out + "/report.json"));
  ASSERT_EQ(j["points"].size(), 4u);  // 2 generators x 2 temperatures
  for (const auto& p : j["points"]) {
    for (const char* k : {"bleu4", "self_bleu4", "distinct1", "distinct2", "distinct3", "repetition4",
                          "genre_adherence", "beat_adherence"}) {
      ASSERT_TRUE(p.contains(k)) << k;
      EXPECT_GE(p[k].get<double>(), 0.0) << k;
      EXPECT_LE(p[k].get<double>(), 1.0) << k;
    }
    EXPECT_EQ(p["samples"].get<int>(), 6);
  }
  EXPECT_GT(j["perplexity"]["transformer"]["perplexity"].get<double>(), 1.0);
  EXPECT_GT(j["perplexity"]["vae"]["reconstruction_perplexity"].get<double>(), 1.0);
  EXPECT_TRUE(j["classifier"]["beat"].contains("matrix"));
  EXPECT_NE(testing::read_text(out + "/report.txt").find("Self-BLEU-4"), std::string::npos);
  const auto plot = run("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/scripts/plot_eval.py " + out);
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  const std::string png = testing::read_text(out + "/quality_diversity.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(Eval, BadInputNamesTheProblem) {
  const std::string out = testing::temp_dir("eval-bad");
  auto r = run(plotforge_bin() + " eval --data " + corpus() + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("at least one generator"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " eval --data " + corpus() + " --out " + out + " --transformer " + trained_vae());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a transformer model"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " eval --data " + corpus() + " --out " + out + " --vae " + trained_vae() +
          " --temperatures 0.7,hot");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("'hot' is not a number"), std::string::npos) << r.output;
}

// Item features from scripts for the recommenders: genre, arc shape and
// valence profile, and with a VAE its posterior mean over each script's
// scenes, one column per latent dimension, different per script.
TEST(RecommendFeatures, ArcsAndTheVAEsPosteriorMeanPerScript) {
  const std::string dir = testing::temp_dir("recommend-features");
  auto r = run(plotforge_bin() + " recommend features --scripts " + testing::sample_dir() + " --out " + dir +
               "/items.csv --vae " + trained_vae() + " --max-scenes 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(dir + "/items.csv");
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("item,genre,shape,valence_q1,valence_q2,valence_q3,valence_q4,valence,vae_1,", 0), 0u)
      << header;
  EXPECT_NE(header.find(",vae_8"), std::string::npos);
  EXPECT_EQ(header.find(",vae_9"), std::string::npos);
  std::set<std::string> rows, embeddings;
  while (std::getline(in, line)) {
    rows.insert(line.substr(0, line.find(',')));
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), std::count(header.begin(), header.end(), ',')) << line;
    embeddings.insert(line.substr(line.find(",", line.find(",valence") + 1)));
  }
  EXPECT_TRUE(rows.count("hamlet")) << "items are named by file";
  EXPECT_GT(rows.size(), 2u);
  EXPECT_EQ(embeddings.size(), rows.size()) << "every script reads differently";
  // A path that is not there is named.
  r = run(plotforge_bin() + " recommend features --scripts " + dir + "/missing --out " + dir + "/x.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing: no such file or directory"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace plotforge
