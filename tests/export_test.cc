// plotforge export, read back by PyPI's safetensors + numpy.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "datasets/documents.h"
#include "datasets/tokenizer.h"
#include "models/transformer.h"
#include "tests/hf_tokenizer_cases.h"
#include "tests/test_util.h"
#include "training/checkpoint.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;
using testing::plotforge_bin;
using testing::run;

TEST(Export, BundleTensorsEqualTheCheckpointInFp32AndBf16) {
  const std::string dir = testing::temp_dir("export");
  const std::string corpus = testing::prepared_sample_corpus(600);
  testing::RunResult r;
  for (const char* tie : {"true", "false"}) {
    const std::string run_dir = dir + "/run-" + tie;
    r = run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " +
            corpus + " --out " + run_dir + " --max-steps 5 --model.context 32 --model.n_kv_heads 2 --batch-size 2 " +
            "--eval-every 5 --eval-batches 1 --quiet --model.tie_embeddings " + tie);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // Raw float32 dumps of the checkpoint's parameters, under their HF names.
    const std::string ckpt = resolve_checkpoint(run_dir);
    const CheckpointState st = load_checkpoint(ckpt);
    Transformer model(st.model);
    load_checkpoint(ckpt, {model.get()});
    const std::string expected = dir + "/expected-" + tie;
    fs::create_directories(expected);
    nlohmann::json shapes;
    for (const auto& p : model->named_parameters()) {
      const std::string name = p.key().rfind("lm_head", 0) == 0 ? p.key() : "model." + p.key();
      const auto t = p.value().detach().contiguous();
      std::ofstream(expected + "/" + name + ".f32", std::ios::binary)
          .write(reinterpret_cast<const char*>(t.data_ptr<float>()), static_cast<std::streamsize>(t.numel() * 4));
      shapes[name] = t.sizes().vec();
    }
    std::ofstream(expected + "/shapes.json") << shapes.dump();
    EXPECT_EQ(shapes.contains("lm_head.weight"), std::string(tie) == "false");
    for (const char* dtype : {"fp32", "bf16"}) {
      const std::string bundle = dir + "/bundle-" + tie + "-" + dtype;
      r = run(plotforge_bin() + " export --checkpoint " + run_dir + " --out " + bundle + " --dtype " + dtype);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      for (const char* f : {"model.safetensors", "config.json", "generation_config.json", "tokenizer.model",
                            "tokenizer.json", "tokenizer_config.json"}) {
        EXPECT_TRUE(fs::exists(bundle + "/" + f)) << f;
      }
      r = run("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/read_bundle.py " + bundle + " " + expected +
              " " + dtype);
      EXPECT_EQ(r.exit_code, 0) << r.output;
    }
  }
  r = run(plotforge_bin() + " export --checkpoint " + dir + "/run-true --out " + dir + "/b --dtype fp8");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--dtype"), std::string::npos);
}

// Other tools load the bundle: Hugging Face's LlamaForCausalLM gives the
// libtorch model's logits within 1e-4 (fp32). Needs a python3 with torch and
// transformers: Debian's, with transformers from setup.sh, on CI; the GPU
// machine's own. Without one it skips, saying why.
TEST(Export, TransformersLoadsTheBundleWithTheSameLogits) {
  const std::string python = testing::python_with("torch, transformers");
  if (python.empty()) GTEST_SKIP() << "no python3 here has torch + transformers (scripts/setup.sh installs them)";
  const std::string corpus = testing::prepared_sample_corpus(700);
  const std::string dir = testing::temp_dir("hf-parity");
  for (const char* tie : {"true", "false"}) {
    const std::string run_dir = dir + "/run-" + tie, bundle = dir + "/bundle-" + tie;
    auto r =
        run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " +
            corpus + " --out " + run_dir + " --max-steps 20 --model.context 256 --model.n_kv_heads 2" +
            " --model.tie_embeddings " + tie + " --device cpu --eval-every 20 --eval-batches 1 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run(plotforge_bin() + " export --checkpoint " + run_dir + " --out " + bundle);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string ckpt = resolve_checkpoint(run_dir);
    Transformer m(load_checkpoint(ckpt).model);
    load_checkpoint(ckpt, {m.get()});
    m->eval();
    std::vector<std::int64_t> tokens;
    for (int i = 0; i < 150; ++i) tokens.push_back((i * 37 + 11) % m->config().vocab_size);
    torch::NoGradGuard g;
    const auto logits = m->forward(torch::tensor(tokens).unsqueeze(0)).squeeze(0).contiguous();
    std::ofstream(dir + "/tokens.json") << nlohmann::json(tokens).dump();
    std::ofstream(dir + "/expected.f32", std::ios::binary)
        .write(reinterpret_cast<const char*>(logits.data_ptr<float>()),
               static_cast<std::streamsize>(logits.numel() * 4));
    r = run(python + " " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/hf_parity.py " + bundle + " " + dir +
            "/tokens.json " + dir + "/expected.f32");
    EXPECT_EQ(r.exit_code, 0) << "tie_embeddings " << tie << ": " << r.output;
    std::cout << r.output;
  }
  // AutoTokenizer.from_pretrained(bundle) encodes the sample corpus to the
  // ids plotforge trained on (tests/hf_tokenizer_test.cc checks more texts
  // and the bpe and char models).
  const std::string bundle = dir + "/bundle-true";
  const Tokenizer tok = Tokenizer::load(bundle + "/tokenizer.model");
  std::vector<std::string> texts;
  for (const Document& d : read_documents(testing::sample_dir())) texts.push_back(d.text);
  std::ofstream(dir + "/cases.json") << testing::hf_tokenizer_cases(tok, texts).dump();
  const auto r = run(python + " " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/hf_tokenizer_check.py " + bundle + " " +
                     dir + "/cases.json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::cout << r.output;
}

}  // namespace
}  // namespace plotforge
