// VAE, latent-GAN and scene-classifier bundles: the torch-free runtime
// against libtorch on the same checkpoints. The VAE decoder's logits under a
// latent code match within 1e-4 (prefill in chunks, then decode steps),
// greedy decoding under a code is identical, the runtime's GAN gives the
// generator's codes, and the runtime's classifier the libtorch classifier's
// probabilities.
// Through the real executables: plotforge export, then plotforge-run
// generate --prior / --gan / --latent, and its errors.
#include <algorithm>
#include <filesystem>
#include <type_traits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "inference/engine.h"
#include "inference/generate.h"
#include "inference/latent_gan.h"
#include "inference/model.h"
#include "inference/scene_classifier.h"
#include "models/generate.h"
#include "tests/test_util.h"
#include "training/batch_tensors.h"
#include "training/classifier_objective.h"
#include "training/export.h"
#include "training/gan_objective.h"
#include "training/run.h"
#include "training/settings.h"
#include "training/vae_objective.h"

namespace plotforge {
namespace {

using testing::plotforge_bin;
using testing::run;

struct Fixture {
  std::string vae_run, gan_run, vae_bundle, gan_bundle;
};

const Fixture& trained() {
  static const Fixture f = [] {
    Fixture x;
    const std::string corpus = testing::prepared_sample_corpus(700);
    const std::string dir = testing::temp_dir("latent-runtime");
    x.vae_run = dir + "/vae";
    x.gan_run = dir + "/gan";
    auto r =
        run(plotforge_bin() + " train --kind vae --data " + corpus + " --out " + x.vae_run +
            " --max-steps 15 --batch-size 4 --model.dim 32 --model.n_layers 2 --model.n_heads 4 --model.n_kv_heads 2"
            " --model.context 64 --vae.latent 8 --eval-every 15 --eval-batches 1 --quiet");
    if (r.exit_code) throw std::runtime_error(r.output);
    r = run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) +
            "/configs/scenes-gan.ini --data " + corpus + " --out " + x.gan_run + " --gan.vae " + x.vae_run +
            " --gan.hidden 16 --max-steps 5 --batch-size 4 --eval-every 5 --eval-batches 1 --quiet");
    if (r.exit_code) throw std::runtime_error(r.output);
    x.vae_bundle = dir + "/vae-bundle";
    x.gan_bundle = dir + "/gan-bundle";
    r = run(plotforge_bin() + " export --checkpoint " + x.vae_run + " --out " + x.vae_bundle);
    if (r.exit_code) throw std::runtime_error(r.output);
    r = run(plotforge_bin() + " export --checkpoint " + x.gan_run + " --out " + x.gan_bundle);
    if (r.exit_code) throw std::runtime_error(r.output);
    return x;
  }();
  return f;
}

TEST(LatentRuntime, VAEDecoderLogitsMatchLibtorchUnderALatentCode) {
  LoadedVAE vae = load_vae(trained().vae_run);
  const auto model = runtime::Model::load(trained().vae_bundle);
  ASSERT_EQ(model->config().latent, 8);
  const int V = model->config().vocab;
  const std::vector<float> z = {0.5f, -1.f, 0.25f, 2.f, -0.5f, 0.f, 1.5f, -2.f};
  std::vector<int> p =
      model->tokenizer().encode("<scene><beat=climax>\nHAMLET\nTo be, or not to be, that is the question.\n");
  ASSERT_GT(p.size(), 12u);
  torch::NoGradGuard g;
  const auto zt = torch::from_blob(const_cast<float*>(z.data()), {1, 8}).clone();
  std::vector<std::int64_t> p64(p.begin(), p.end());
  const auto expect = vae.model->decode(torch::tensor(p64).unsqueeze(0), zt).squeeze(0).contiguous();
  runtime::BlockPool pool(model->config(), 16, 64);
  runtime::CpuEngine engine(*model, pool);
  runtime::Sequence seq;
  seq.latent = model->condition(z);
  std::vector<float> got;
  // A prefill chunk, then one token at a time (the decode path).
  const std::size_t first = 7;
  std::vector<runtime::BatchItem> batch{{&seq, std::vector<int>(p.begin(), p.begin() + first), true}};
  got = engine.forward(batch);
  for (std::size_t t = first; t < p.size(); ++t) {
    std::vector<runtime::BatchItem> step{{&seq, {p[t]}, true}};
    const auto row = engine.forward(step);
    got.insert(got.end(), row.begin(), row.end());
  }
  ASSERT_EQ(got.size(), p.size() * V);
  const auto diff = (torch::from_blob(got.data(), {static_cast<long>(p.size()), V}) - expect).abs().max().item<float>();
  EXPECT_LE(diff, 1e-4);
  // And the code matters: another z gives other logits.
  runtime::Sequence plain;
  std::vector<runtime::BatchItem> nb{{&plain, p, true}};
  const auto unconditioned = engine.forward(nb);
  EXPECT_GT((torch::from_blob(const_cast<float*>(unconditioned.data()), {static_cast<long>(p.size()), V}) - expect)
                .abs()
                .max()
                .item<float>(),
            1e-3);
}

TEST(LatentRuntime, GreedyDecodingUnderACodeIsIdentical) {
  LoadedVAE vae = load_vae(trained().vae_run);
  const auto model = runtime::Model::load(trained().vae_bundle);
  const std::vector<float> z = {1.f, 0.f, -1.f, 0.5f, 0.5f, -0.5f, 2.f, 0.f};
  const std::vector<int> prompt = model->tokenizer().encode("<scene><beat=exposition>\n");
  SamplingParams o;
  o.temperature = 0;
  o.max_new_tokens = 40;
  const Conditioning cond = vae.model->condition(torch::from_blob(const_cast<float*>(z.data()), {1, 8}).clone());
  const auto expect = generate(vae.model->decoder, prompt, o, /*eos_id=*/-1, nullptr, &cond)[0].tokens;
  ASSERT_EQ(expect.size(), 40u);
  runtime::BlockPool pool(model->config(), 16, 64);
  runtime::CpuEngine engine(*model, pool);
  SamplingParams p;
  p.temperature = 0;
  p.max_new_tokens = 40;
  p.ignore_eos = true;
  p.n = 2;  // branches share the prompt's blocks and the code
  const auto out = runtime::generate(engine, prompt, p, 256, model->condition(z));
  EXPECT_EQ(out[0].tokens, expect);
  EXPECT_EQ(out[1].tokens, expect);
}

TEST(LatentRuntime, GANCodesMatchTheGenerator) {
  LoadedGAN gan = load_gan(trained().gan_run);
  const auto rt = runtime::LatentGAN::load(trained().gan_bundle);
  ASSERT_EQ(rt->latent(), 8);
  ASSERT_FALSE(rt->genres().empty());
  const std::vector<float> noise(rt->noise(), 0.3f);
  for (int genre : {-1, 0}) {
    torch::NoGradGuard g;
    const auto expect =
        gan.generator->forward(torch::full({1, rt->noise()}, 0.3f), torch::full({1}, genre, torch::kInt64));
    const auto got = rt->forward(noise, genre);
    ASSERT_EQ(static_cast<long>(got.size()), expect.size(1));
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[0][i].item<float>(), 1e-5) << i;
  }
}

TEST(LatentRuntime, CommandLine) {
  const std::string bin = testing::plotforge_bin();
  const std::string rt = std::filesystem::path(bin).parent_path().string() + "/plotforge-run";
  const Fixture& f = trained();
  auto r = run(rt + " generate --bundle " + f.vae_bundle + " --prior --beat climax --max-new-tokens 10 --seed 3");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run(rt + " generate --bundle " + f.vae_bundle + " --gan " + f.gan_bundle + " --genre " +
          runtime::LatentGAN::load(f.gan_bundle)->genres()[0] + " --max-new-tokens 10");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run(rt + " generate --bundle " + f.vae_bundle + " --latent 0,1,2,3,4,5,6,7 --max-new-tokens 10");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run(rt + " generate --bundle " + f.vae_bundle + " --latent 0,1,2 --max-new-tokens 10");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("latent size is 8"), std::string::npos) << r.output;
  r = run(rt + " generate --bundle " + f.vae_bundle + " --gan " + f.gan_bundle + " --genre western");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("not conditioned on it"), std::string::npos) << r.output;
  r = run(rt + " generate --bundle " + f.vae_bundle + " --prior --latent 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("one of --prior, --gan and --latent"), std::string::npos) << r.output;
  // The runtime's own options are checked, naming the option.
  r = run(rt + " generate --bundle " + f.vae_bundle + " --prior --prefill-chunk 0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--prefill-chunk: must be at least 1"), std::string::npos) << r.output;
  r = run(rt + " bench --bundle " + f.vae_bundle + " --batch-sizes 1,0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--batch-sizes: '0'"), std::string::npos) << r.output;
  // A GAN bundle is not a decoder.
  r = run(rt + " generate --bundle " + f.gan_bundle);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
  // The VAE bundle reads as a Llama model: its decoder tensors under Llama names.
  r = run("python3 -c \"from safetensors import safe_open; f = safe_open('" + f.vae_bundle +
          "/model.safetensors', 'np'); k = set(f.keys()); print('model.embed_tokens.weight' in k, "
          "'plotforge.latent_to_memory.weight' in k, any(x.startswith('plotforge.encoder.') for x in k))\"");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("True True True"), std::string::npos) << r.output;
}

// Every VAE setting travels from one declaration (training/settings.h) to
// the option, the INI file, the checkpoint, the bundle and the runtime, with
// no list of them anywhere else: a field added to VAESettings passes this
// test unchanged.
TEST(LatentRuntime, EveryVaeSettingReachesOptionsCheckpointBundleAndRuntime) {
  const std::string dir = testing::temp_dir("vae-settings");
  const auto help = run(plotforge_bin() + " train --help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  // Non-default values for every numeric field, set from an INI file.
  std::string ini = "[vae]\n";
  const VAESettings defaults;
  nlohmann::json expect = to_json(defaults);
  for_each_field(defaults, [&](const char* key, const auto& member, const char*, FieldTraits) {
    EXPECT_NE(help.output.find(std::string("--vae.") + key), std::string::npos) << key;
    using T = std::decay_t<decltype(member)>;
    if constexpr (std::is_same_v<T, int>) {
      const int v = std::string(key) == "cycles" ? 2 : std::string(key) == "encoder_layers" ? 1 : 4;
      ini += std::string(key) + " = " + std::to_string(v) + "\n";
      expect[key] = v;
    } else if constexpr (std::is_same_v<T, double>) {
      ini += std::string(key) + " = 0.125\n";
      expect[key] = 0.125;
    }
  });
  testing::write_text(dir + "/vae.ini", ini);
  const std::string corpus = testing::prepared_sample_corpus(700);
  auto r = run(plotforge_bin() + " train --kind vae --config " + dir + "/vae.ini --data " + corpus + " --out " + dir +
               "/run --max-steps 2 --batch-size 2 --model.dim 32 --model.n_layers 2 --model.n_heads 4"
               " --model.context 32 --eval-every 2 --eval-batches 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const OpenedRun opened = open_run(dir + "/run", "vae");
  EXPECT_EQ(opened.state.config.at("vae"), expect);
  r = run(plotforge_bin() + " export --checkpoint " + dir + "/run --out " + dir + "/bundle");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = nlohmann::json::parse(testing::read_text(dir + "/bundle/config.json"));
  for (const auto& [key, value] : expect.items()) EXPECT_EQ(config["plotforge"][key], value) << key;
  const auto model = runtime::Model::load(dir + "/bundle");
  EXPECT_EQ(model->config().latent, 4);
}

// The scene classifier: exported, run by the runtime over scenes of several
// lengths at once (one stacked GEMM per projection, attention within each
// scene), against libtorch's forward on the same rows one at a time.
TEST(LatentRuntime, ClassifierProbabilitiesMatchLibtorch) {
  const std::string dir = testing::temp_dir("classifier-runtime");
  const std::string corpus = testing::prepared_sample_corpus(700);
  auto r = run(plotforge_bin() + " train --kind classifier --data " + corpus + " --out " + dir +
               "/run --max-steps 12 --batch-size 4 --model.dim 32 --model.n_layers 2 --model.n_heads 4"
               " --model.n_kv_heads 2 --model.context 96 --eval-every 12 --eval-batches 1 --lr 3e-3 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run(plotforge_bin() + " export --checkpoint " + dir + "/run --out " + dir + "/bundle");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LoadedClassifier cls = load_classifier(dir + "/run");
  const auto rt = runtime::SceneClassifier::load(dir + "/bundle");
  ASSERT_EQ(rt->heads().size(), 4u);
  EXPECT_EQ(rt->heads()[0].labels, cls.genres);
  ASSERT_FALSE(rt->heads()[1].labels.empty());  // the sample plays carry beats
  // ... and genres, but no emotion notes and no derived labels.
  EXPECT_TRUE(rt->heads()[0].labelled);
  EXPECT_TRUE(rt->heads()[1].labelled);
  EXPECT_FALSE(rt->heads()[2].labelled);
  EXPECT_FALSE(rt->heads()[3].labelled);
  EXPECT_EQ(cls.labelled_heads, (std::vector<std::string>{"genre", "beat"}));
  const std::vector<std::string> texts = {"INT. CASTLE - NIGHT\n\nHAMLET\nTo be, or not to be, that is the question.\n",
                                          "<scene><beat=climax>\nOPHELIA\nO, what a noble mind is here o'erthrown!\n",
                                          std::string(400, 'a') + " long enough to be cut at the context",
                                          "LEAR\nNothing will come of nothing.\n"};
  const auto got = rt->classify(texts);
  ASSERT_EQ(got.size(), texts.size());
  torch::NoGradGuard g;
  std::vector<int> controls;
  for (const auto& [name, id] : rt->tokenizer().control_tokens()) controls.push_back(id);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ids = rt->scene_ids(texts[i]);
    ASSERT_LE(static_cast<int>(ids.size()), 96);
    if (i == 1) {
      for (const int c : controls) EXPECT_EQ(std::count(ids.begin(), ids.end(), c), 0) << "control token kept";
    }
    const auto l = cls.model->forward(padded_rows({rt->tokenizer().encode(texts[i])}, controls, 96, torch::kCPU));
    const torch::Tensor heads[] = {l.genre, l.beat, l.emotion, l.valence};
    for (std::size_t h = 0; h < 4; ++h) {
      const auto& p = got[i][h];
      if (rt->heads()[h].labels.empty()) {
        EXPECT_TRUE(p.empty());
        continue;
      }
      const auto want = torch::softmax(heads[h].squeeze(0), -1).contiguous();
      ASSERT_EQ(static_cast<std::int64_t>(p.size()), want.numel());
      double sum = 0;
      for (std::size_t c = 0; c < p.size(); ++c) {
        EXPECT_NEAR(p[c], want[c].item<float>(), 1e-5) << "scene " << i << " head " << rt->heads()[h].name;
        sum += p[c];
      }
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  // A decoder bundle is not a classifier, and says what to export instead.
  try {
    runtime::SceneClassifier::load(trained().vae_bundle);
    ADD_FAILURE() << "a VAE bundle loaded as a classifier";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("export a classifier run"), std::string::npos) << e.what();
  }
  // And a classifier bundle is not a decoder.
  try {
    runtime::Model::load(dir + "/bundle");
    ADD_FAILURE() << "a classifier bundle loaded as a decoder";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("classifier"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace plotforge
