// The torch-free runtime against the libtorch model on the same checkpoint:
// logits within 1e-4 (fp32, CPU) for prompts of several lengths, one-shot
// and chunked prefill; greedy decoding identical for 200 steps at batch 1,
// with prefix-sharing branches, and in a mixed batch of different prompts.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>

#include "datasets/error.h"
#include "datasets/text_checks.h"
#include "inference/engine.h"
#include "inference/generate.h"
#include "models/generate.h"
#include "tests/test_util.h"
#include "training/checkpoint.h"
#include "training/export.h"

namespace plotforge {
namespace {

using testing::plotforge_bin;
using testing::run;

struct Fixture {
  std::string run_dir, bundle;
};

const Fixture& trained() {
  static const Fixture f = [] {
    Fixture x;
    const std::string dir = testing::temp_dir("runtime-parity");
    auto r = run(plotforge_bin() + " tokenizer train --input " + testing::sample_dir() + " --out " + dir +
                 "/tok.model --vocab-size 700");
    if (r.exit_code) throw std::runtime_error(r.output);
    r = run(plotforge_bin() + " prepare --quiet --val-fraction 0.3 --input " + testing::sample_dir() + " --tokenizer " +
            dir + "/tok.model --out " + dir + "/c.h5");
    if (r.exit_code) throw std::runtime_error(r.output);
    x.run_dir = dir + "/run";
    r = run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " +
            dir + "/c.h5 --out " + x.run_dir + " --max-steps 60 --model.context 256 --model.n_kv_heads 2 " +
            "--model.tie_embeddings false --batch-size 4 --eval-every 60 --eval-batches 1 --quiet");
    if (r.exit_code) throw std::runtime_error(r.output);
    x.bundle = dir + "/bundle";
    export_bundle(x.run_dir, x.bundle, "fp32");
    return x;
  }();
  return f;
}

Transformer load_torch_model() {
  const std::string ckpt = resolve_checkpoint(trained().run_dir);
  Transformer m(load_checkpoint(ckpt).model);
  load_checkpoint(ckpt, &m);
  m->eval();
  return m;
}

std::vector<int> prompt_of(const runtime::Model& model, const std::string& text) {
  return model.tokenizer().encode("<genre=tragedy>\n<scene><beat=climax>\n" + text);
}

TEST(RuntimeParity, LogitsMatchLibtorchForPromptsOfSeveralLengths) {
  Transformer torch_model = load_torch_model();
  const auto model = runtime::Model::load(trained().bundle);
  const int V = model->config().vocab;
  std::vector<int> base = prompt_of(*model, "HAMLET\nTo be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n");
  while (base.size() < 200) base.insert(base.end(), base.begin(), base.begin() + std::min<std::size_t>(base.size(), 200 - base.size()));
  for (const std::size_t len : {1ul, 7ul, 50ul, 200ul}) {
    const std::vector<int> p(base.begin(), base.begin() + len);
    std::vector<std::int64_t> p64(p.begin(), p.end());
    torch::NoGradGuard g;
    const auto expect = torch_model->forward(torch::tensor(p64).unsqueeze(0)).squeeze(0).contiguous();
    for (const int chunk : {static_cast<int>(len), 13}) {
      runtime::BlockPool pool(model->config(), 16, 64);
      runtime::Engine engine(*model, pool);
      runtime::Sequence seq;
      std::vector<float> got;
      for (std::size_t s = 0; s < len; s += chunk) {
        std::vector<runtime::BatchItem> batch{{&seq, std::vector<int>(p.begin() + s, p.begin() + std::min(len, s + chunk)), true}};
        const auto part = engine.forward(batch);
        got.insert(got.end(), part.begin(), part.end());
      }
      ASSERT_EQ(got.size(), len * V);
      const auto diff = (torch::from_blob(got.data(), {static_cast<long>(len), V}) - expect).abs().max().item<float>();
      EXPECT_LE(diff, 1e-4) << "prompt length " << len << ", chunk " << chunk;
    }
  }
}

std::vector<int> torch_greedy(Transformer& m, const std::vector<int>& prompt, int steps) {
  SampleOptions o;
  o.temperature = 0;
  o.max_new_tokens = steps;
  return generate(m, prompt, o)[0];
}

TEST(RuntimeParity, Greedy200StepsIdenticalAloneBranchedAndInAMixedBatch) {
  Transformer torch_model = load_torch_model();
  const auto model = runtime::Model::load(trained().bundle);
  const std::vector<int> a = prompt_of(*model, "MACBETH\n"), b = prompt_of(*model, "EXT. PARK--DAY\n\nRain.\n\nBOB\n");
  const std::vector<int> expect_a = torch_greedy(torch_model, a, 200), expect_b = torch_greedy(torch_model, b, 200);
  ASSERT_EQ(expect_a.size(), 200u) << "the model emitted EOS early; the comparison would be short";

  runtime::BlockPool pool(model->config(), 16, 256);
  runtime::Engine engine(*model, pool);
  runtime::SamplingParams p;
  p.temperature = 0;
  p.max_new_tokens = 200;
  const auto alone = runtime::generate(engine, a, p);
  EXPECT_EQ(alone[0].tokens, expect_a);
  p.n = 3;  // three branches sharing the prompt's blocks
  const auto branched = runtime::generate(engine, a, p);
  for (const auto& c : branched) EXPECT_EQ(c.tokens, expect_a);
  EXPECT_EQ(pool.free_blocks(), pool.total_blocks()) << "every block is released";

  // A mixed batch: two different prompts prefilled, then decoded together.
  runtime::Sequence sa, sb;
  std::vector<runtime::BatchItem> prefill{{&sa, a, false}, {&sb, b, false}};
  auto logits = engine.forward(prefill);
  const int V = model->config().vocab;
  std::vector<int> got_a, got_b;
  for (int step = 0; step < 200; ++step) {
    const int ta = static_cast<int>(std::max_element(logits.begin(), logits.begin() + V) - logits.begin());
    const int tb = static_cast<int>(std::max_element(logits.begin() + V, logits.begin() + 2 * V) - logits.begin() - V);
    got_a.push_back(ta);
    got_b.push_back(tb);
    std::vector<runtime::BatchItem> batch{{&sa, {ta}, false}, {&sb, {tb}, false}};
    logits = engine.forward(batch);
  }
  EXPECT_EQ(got_a, expect_a);
  std::vector<int> eb = expect_b;
  got_b.resize(eb.size());  // libtorch stops at EOS
  EXPECT_EQ(got_b, eb);
}

TEST(RuntimeParity, HostileBundlesAreClearErrors) {
  const std::string dir = testing::temp_dir("bad-bundle");
  for (const char* f : {"model.safetensors", "tokenizer.model"}) {
    std::filesystem::copy_file(trained().bundle + "/" + f, dir + "/" + f);
  }
  testing::write_text(dir + "/config.json", "{\"hidden_size\": 64}");
  EXPECT_THROW(runtime::Model::load(dir), InputError);
  std::string cfg = read_file(trained().bundle + "/config.json");
  const std::size_t at = cfg.find("\"num_hidden_layers\": 2");
  ASSERT_NE(at, std::string::npos) << cfg;
  cfg.replace(at, 22, "\"num_hidden_layers\": 3");
  testing::write_text(dir + "/config.json", cfg);
  try {
    runtime::Model::load(dir);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace plotforge
