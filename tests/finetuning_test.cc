// Fine-tuning end to end (docs/finetuning.md): a LlamaForCausalLM made and
// saved by transformers is imported, fine-tuned fully and with LoRA, and
// exported merged, as a PEFT adapter and as GGUF; transformers, peft and
// gguf (PyPI) read each back. Needs Debian's python3 with torch,
// transformers, peft and gguf (scripts/setup.sh); skips saying so without.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "base/error.h"
#include "base/safetensors.h"
#include "inference/adapter.h"
#include "inference/engine.h"
#include "models/lora.h"
#include "models/transformer.h"
#include "tests/test_util.h"
#include "training/checkpoint.h"
#include "training/run.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;
using testing::plotforge_bin;
using testing::run;

const std::string kSource = PLOTFORGE_SOURCE_DIR;

std::string python() {
  static const std::string py = testing::python_with("torch, transformers, peft, gguf");
  return py;
}

// A Hugging Face Llama directory made by make_hf_llama.py.
std::string hf_model(const std::string& name, const std::string& flags) {
  const std::string dir = testing::temp_dir("hf-" + name);
  const auto r = run(python() + " " + kSource + "/tests/finetuning/make_hf_llama.py " + testing::sample_dir() + " " +
                     dir + " " + flags);
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  return dir;
}

// plotforge import of `hf` with the sample corpus's genres.
std::string imported(const std::string& hf, const std::string& name) {
  const std::string out = testing::temp_dir("imported-" + name) + "/run";
  const auto r = run(plotforge_bin() + " import --from " + hf + " --out " + out + " --genres comedy,history,tragedy");
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  return out;
}

// The sample corpus prepared with `tokenizer`.
std::string corpus_for(const std::string& tokenizer, const std::string& name) {
  const std::string out = testing::temp_dir("ft-corpus-" + name) + "/c.h5";
  const auto r = run(plotforge_bin() + " prepare --quiet --val-fraction 0.3 --input " + testing::sample_dir() +
                     " --tokenizer " + tokenizer + " --out " + out);
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  return out;
}

// The shared fixture: one HF model (untied), imported, and a corpus.
struct Fixture {
  std::string hf, run_dir, corpus;
};
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.hf = hf_model("base", "--seed 1");
    x.run_dir = imported(x.hf, "base");
    x.corpus = corpus_for(x.run_dir + "/tokenizer.model", "base");
    return x;
  }();
  return f;
}

std::vector<std::int64_t> some_tokens(int vocab, int n = 120) {
  std::vector<std::int64_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 37 + 11) % vocab);
  return t;
}

// Writes tokens.json and expected.f32 (the model's logits) into `dir`.
void write_expected(Transformer& m, const std::vector<std::int64_t>& tokens, const std::string& dir) {
  torch::NoGradGuard g;
  m->eval();
  const auto logits = m->forward(torch::tensor(tokens).unsqueeze(0)).squeeze(0).contiguous();
  std::ofstream(dir + "/tokens.json") << nlohmann::json(tokens).dump();
  std::ofstream(dir + "/expected.f32", std::ios::binary)
      .write(reinterpret_cast<const char*>(logits.data_ptr<float>()), static_cast<std::streamsize>(logits.numel() * 4));
}

testing::RunResult hf_parity(const std::string& model, const std::string& dir, const std::string& extra = "") {
  return run(python() + " " + kSource + "/tests/hf_parity.py " + model + " " + dir + "/tokens.json " + dir +
             "/expected.f32 " + extra);
}

torch::Tensor tensor_of(const SafetensorsFile& f, const std::string& file, const std::string& name) {
  const TensorView& v = f.at(name);
  std::vector<float> x = to_float32(v, file, name);
  return torch::from_blob(x.data(), v.shape, torch::kFloat32).clone();
}

#define NEEDS_PYTHON()                                                                                   \
  if (python().empty()) {                                                                                \
    GTEST_SKIP() << "no python3 here has torch, transformers, peft and gguf (scripts/setup.sh installs " \
                    "them)";                                                                             \
  }

TEST(Import, LogitsEqualTransformersUnshardedAndSharded) {
  NEEDS_PYTHON();
  for (const char* flags : {"--seed 2", "--seed 3 --tie --shard-kb 100"}) {
    const std::string hf = hf_model(std::string("parity-") + flags[7], flags);
    if (std::string(flags).find("shard") != std::string::npos) {
      ASSERT_TRUE(fs::exists(hf + "/model.safetensors.index.json")) << "not sharded";
    }
    const std::string run_dir = imported(hf, std::string("parity-") + flags[7]);
    const OpenedRun r = open_run(run_dir, "transformer");
    Transformer m = load_transformer(r);
    const int hf_vocab = nlohmann::json::parse(testing::read_text(hf + "/config.json"))["vocab_size"];
    EXPECT_GT(m->config().vocab_size, hf_vocab + 20) << "control tokens were added";
    // New rows start at the mean of the old ones.
    const auto emb = m->embed_tokens->weight.detach();
    EXPECT_TRUE(torch::allclose(emb[hf_vocab + 3], emb.narrow(0, 0, hf_vocab).mean(0), 1e-6, 1e-6));
    const std::string dir = testing::temp_dir(std::string("import-parity-") + flags[7]);
    write_expected(m, some_tokens(hf_vocab), dir);
    const auto p = hf_parity(hf, dir);
    EXPECT_EQ(p.exit_code, 0) << flags << ": " << p.output;
    std::cout << flags << ": " << p.output;
  }
}

TEST(Import, ExportGivesBackTheSameTensors) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const std::string bundle = testing::temp_dir("import-export") + "/bundle";
  auto r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + bundle);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const SafetensorsFile in = SafetensorsFile::open(f.hf + "/model.safetensors");
  const SafetensorsFile out = SafetensorsFile::open(bundle + "/model.safetensors");
  int compared = 0;
  for (const auto& [name, view] : in.tensors()) {
    const auto a = tensor_of(in, "hf", name), b = tensor_of(out, "bundle", name);
    ASSERT_EQ(a.size(-1), b.size(-1)) << name;
    EXPECT_TRUE(torch::equal(a, b.narrow(0, 0, a.size(0)))) << name;
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(out.tensors().size()));
}

TEST(Import, BadInputsAreRefusedNamingTheFile) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const std::string root = testing::temp_dir("import-bad");
  auto variant = [&](const std::string& name) {
    const std::string d = root + "/" + name;
    fs::copy(f.hf, d, fs::copy_options::recursive);
    return d;
  };
  auto refused = [&](const std::string& from, const std::string& expect) {
    const auto r = run(plotforge_bin() + " import --from " + from + " --out " + root + "/out-" +
                       fs::path(from).filename().string());
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(expect), std::string::npos) << "wanted '" << expect << "' in: " << r.output;
    EXPECT_FALSE(fs::exists(root + "/out-" + fs::path(from).filename().string() + "/checkpoints"));
  };
  auto set_config = [&](const std::string& dir, const std::string& key, const nlohmann::json& value) {
    auto c = nlohmann::json::parse(testing::read_text(dir + "/config.json"));
    c[key] = value;
    testing::write_text(dir + "/config.json", c.dump(2));
  };
  std::string d = variant("rope");
  set_config(d, "rope_scaling", {{"type", "linear"}, {"factor", 2.0}});
  refused(d, d + "/config.json: field 'rope_scaling'");
  d = variant("bias");
  set_config(d, "attention_bias", true);
  refused(d, d + "/config.json: field 'attention_bias'");
  d = variant("arch");
  set_config(d, "architectures", {"MistralForCausalLM"});
  refused(d, "field 'architectures'");
  d = variant("vocab");
  set_config(d, "vocab_size", 999);
  refused(d, d + "/tokenizer.model: has 400 pieces but");
  d = variant("truncated");
  fs::resize_file(d + "/model.safetensors", fs::file_size(d + "/model.safetensors") - 100);
  refused(d, d + "/model.safetensors");

  const std::string sharded = hf_model("bad-sharded", "--seed 4 --shard-kb 100");
  d = root + "/missing-shard";
  fs::copy(sharded, d, fs::copy_options::recursive);
  std::string victim;
  for (const auto& e : fs::directory_iterator(d)) {
    if (e.path().filename().string().rfind("model-00002", 0) == 0) victim = e.path().string();
  }
  ASSERT_FALSE(victim.empty());
  fs::remove(victim);
  refused(d, victim + ": missing (model.safetensors.index.json names it");
  d = root + "/truncated-shard";
  fs::copy(sharded, d, fs::copy_options::recursive);
  const std::string shard = d + "/" + fs::path(victim).filename().string();
  fs::resize_file(shard, fs::file_size(shard) / 2);
  refused(d, shard);
}

TEST(FineTune, FullFineTuningStartsFromTheBaseWeights) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const std::string dir = testing::temp_dir("full-ft");
  // With a learning rate of 1e-30 (it must be positive) every update is
  // below half an ulp of the weights: they stay the base's exactly.
  auto r =
      run(plotforge_bin() + " train --data " + f.corpus + " --out " + dir + "/frozen --init-from " + f.run_dir +
          " --max-steps 2 --batch-size 2 --lr 1e-30 --min-lr 0 --eval-every 2 --eval-batches 1 --quiet --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Transformer base = load_transformer(open_run(f.run_dir, "transformer"));
  Transformer same = load_transformer(open_run(dir + "/frozen", "transformer"));
  for (const auto& p : base->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), same->named_parameters()[p.key()])) << p.key();
  }
  // Trained, the loss falls from the base's.
  r = run(plotforge_bin() + " train --data " + f.corpus + " --out " + dir + "/trained --init-from " + f.run_dir +
          " --max-steps 30 --batch-size 4 --lr 3e-3 --warmup-steps 2 --eval-every 30 --eval-batches 2 --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("starting from " + fs::absolute(resolve_checkpoint(f.run_dir)).string()), std::string::npos)
      << r.output;
  // A corpus of another tokenizer is refused, naming it.
  r = run(plotforge_bin() + " train --data " + testing::prepared_sample_corpus(600) + " --out " + dir +
          "/wrong --init-from " + f.run_dir + " --max-steps 1 --quiet --device cpu");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("prepare the corpus with the base's tokenizer.model"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " train --data " + f.corpus + " --out " + dir + "/lora-alone --lora.rank 4 --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--init-from"), std::string::npos) << r.output;
}

const char* const kAllTargets = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";

std::string lora_run(const std::string& name, int rank, long steps, const std::string& extra = "") {
  const Fixture& f = fixture();
  const std::string out = testing::temp_dir("lora-" + name) + "/run";
  const auto r = run(plotforge_bin() + " train --data " + f.corpus + " --out " + out + " --init-from " + f.run_dir +
                     " --lora.rank " + std::to_string(rank) + " --lora.alpha 16 --lora.targets " + kAllTargets +
                     " --max-steps " + std::to_string(steps) +
                     " --batch-size 2 --lr 1e-2 --warmup-steps 1 --eval-every 2 --eval-batches 1 --checkpoint-every 2"
                     " --device cpu " +
                     extra);
  if (r.exit_code != 0) throw std::runtime_error(r.output);
  return out;
}

TEST(LoRA, TrainsOnlyTheAdaptersOnAFrozenBase) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const int rank = 4;
  const std::string out = lora_run("frozen", rank, 4);
  const OpenedRun opened = open_run(out, "transformer");
  Transformer m = load_transformer(opened);
  // The formula, spelled out: r * (in + out) per adapted projection.
  const TransformerConfig& c = m->config();
  const long long d = c.dim, q = c.n_heads * c.head_dim(), kv = c.kv_heads() * c.head_dim(), h = c.hidden();
  const long long expected = rank * c.n_layers * ((d + q) + 2 * (d + kv) + (q + d) + 3 * (d + h));
  long long lora_params = 0;
  bool trained = false;
  for (const auto& p : m->named_parameters()) {
    if (p.key().find(".lora_") == std::string::npos) continue;
    lora_params += p.value().numel();
    if (p.key().find("lora_B") != std::string::npos) trained = trained || p.value().abs().max().item<float>() > 0;
  }
  EXPECT_EQ(lora_params, expected);
  EXPECT_TRUE(trained) << "lora_B is still zero after 4 steps";
  // The base's bytes are unchanged, and the checkpoint holds only adapters.
  Transformer base = load_transformer(open_run(f.run_dir, "transformer"));
  for (const auto& p : base->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), m->named_parameters()[p.key()])) << p.key();
  }
  EXPECT_LT(fs::file_size(opened.checkpoint), fs::file_size(resolve_checkpoint(f.run_dir)) / 2);
}

TEST(LoRA, ResumeIsExact) {
  NEEDS_PYTHON();
  const std::string straight = lora_run("straight", 4, 4);
  const std::string split = lora_run("split", 4, 4, "--stop-after 2");
  // The base moved (the same bytes elsewhere): still the run's base.
  const std::string moved = testing::temp_dir("moved-base") + "/base";
  fs::copy(fixture().run_dir, moved, fs::copy_options::recursive);
  const auto r = run(plotforge_bin() + " train --data " + fixture().corpus + " --out " + split + " --init-from " +
                     moved + " --lora.rank 4 --lora.alpha 16 --lora.targets " + kAllTargets +
                     " --max-steps 4 --batch-size 2 --lr 1e-2 --warmup-steps 1 --eval-every 2 --eval-batches 1"
                     " --checkpoint-every 2 --device cpu --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Transformer a = load_transformer(open_run(straight, "transformer"));
  Transformer b = load_transformer(open_run(split, "transformer"));
  for (const auto& p : a->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()])) << p.key();
  }
  // Resuming with other adapters is refused.
  const auto bad = run(plotforge_bin() + " train --data " + fixture().corpus + " --out " + split + " --init-from " +
                       fixture().run_dir + " --lora.rank 8 --max-steps 6 --device cpu --resume --quiet");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("resume with the run's own --init-from and --lora"), std::string::npos) << bad.output;
}

TEST(LoRA, PeftLoadsTheAdapterAndTheMergedExportEqualsBasePlusAdapter) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const std::string out = lora_run("peft", 8, 4);
  const std::string dir = testing::temp_dir("lora-export");
  auto r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + dir + "/base");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Without --base-bundle the base (a run, not a bundle) cannot be named.
  r = run(plotforge_bin() + " export --checkpoint " + out + " --out " + dir + "/adapter --format peft");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--base-bundle"), std::string::npos) << r.output;
  // Another model's bundle is refused.
  r = run(plotforge_bin() + " export --checkpoint " + out + " --out " + dir + "/adapter --format peft --base-bundle " +
          f.hf);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not the base"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " export --checkpoint " + out + " --out " + dir + "/adapter --format peft --base-bundle " +
          dir + "/base");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run(plotforge_bin() + " export --checkpoint " + out + " --out " + dir + "/merged");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  Transformer m = load_transformer(open_run(out, "transformer"));
  write_expected(m, some_tokens(m->config().vocab_size), dir);
  r = hf_parity(dir + "/base", dir, "--adapter " + dir + "/adapter");
  EXPECT_EQ(r.exit_code, 0) << "peft: " << r.output;
  std::cout << "peft adapter: " << r.output;
  r = hf_parity(dir + "/merged", dir);
  EXPECT_EQ(r.exit_code, 0) << "merged: " << r.output;

  const auto config = nlohmann::json::parse(testing::read_text(dir + "/adapter/adapter_config.json"));
  EXPECT_EQ(config["r"], 8);
  const double scale = config["lora_alpha"].get<double>() / 8;
  const SafetensorsFile base = SafetensorsFile::open(dir + "/base/model.safetensors");
  const SafetensorsFile adapter = SafetensorsFile::open(dir + "/adapter/adapter_model.safetensors");
  const SafetensorsFile merged = SafetensorsFile::open(dir + "/merged/model.safetensors");
  int adapted = 0;
  for (const auto& [name, view] : base.tensors()) {
    auto expect = tensor_of(base, "base", name);
    const std::string stem = "base_model.model." + name.substr(0, name.size() - std::string(".weight").size());
    if (adapter.tensors().count(stem + ".lora_A.weight")) {
      expect = expect + torch::matmul(tensor_of(adapter, "adapter", stem + ".lora_B.weight"),
                                      tensor_of(adapter, "adapter", stem + ".lora_A.weight")) *
                            scale;
      ++adapted;
    }
    EXPECT_TRUE(torch::allclose(tensor_of(merged, "merged", name), expect, 1e-5, 1e-6)) << name;
  }
  EXPECT_EQ(adapted, 7 * m->config().n_layers);
}

// Read back by llama.cpp's gguf reader, loaded by transformers from the GGUF
// file: logits within 1e-3 of the bundle's in f32 (and within the stated
// rounding of f16 and q8_0; transformers 4.44 cannot load bf16 GGUF
// tensors, so bf16 is checked by the reader alone).
TEST(Gguf, ReadBackByGgufAndLoadedByTransformers) {
  NEEDS_PYTHON();
  const Fixture& f = fixture();
  const std::string dir = testing::temp_dir("gguf");
  auto r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + dir + "/bundle");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Transformer m = load_transformer(open_run(f.run_dir, "transformer"));
  write_expected(m, some_tokens(m->config().vocab_size), dir);
  const std::pair<const char*, const char*> kinds[] = {
      {"f32", "1e-3"}, {"f16", "3e-3"}, {"q8_0", "5e-2"}, {"bf16", ""}};
  for (const auto& [dtype, tolerance] : kinds) {
    const std::string file = dir + "/models/model-" + dtype + ".gguf";
    r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + file + " --format gguf --dtype " +
            dtype);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run(python() + " " + kSource + "/tests/finetuning/gguf_check.py " + file + " " + dir + "/bundle " + dtype);
    EXPECT_EQ(r.exit_code, 0) << dtype << ": " << r.output;
    if (*tolerance == 0) continue;
    r = hf_parity(dir + "/models", dir, std::string("--gguf model-") + dtype + ".gguf --tolerance " + tolerance);
    EXPECT_EQ(r.exit_code, 0) << dtype << ": " << r.output;
    std::cout << "gguf " << dtype << ": " << r.output;
  }
  r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + dir + "/x.gguf --format gguf --dtype q4");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--dtype: 'q4'"), std::string::npos) << r.output;
}

// Two LoRA runs on the fixture's base, the base's bundle and the adapters
// exported for it: what the runtime serves.
struct Served {
  std::string base_bundle, run_a, run_b, adapter_a, adapter_b;
};
const Served& served() {
  static const Served s = [] {
    Served x;
    const Fixture& f = fixture();
    const std::string dir = testing::temp_dir("served");
    x.base_bundle = dir + "/base";
    auto r = run(plotforge_bin() + " export --checkpoint " + f.run_dir + " --out " + x.base_bundle);
    if (r.exit_code != 0) throw std::runtime_error(r.output);
    x.run_a = lora_run("served-a", 4, 4);
    x.run_b = lora_run("served-b", 8, 4, "--seed 7");
    for (auto [run_dir, out] : {std::pair{x.run_a, &x.adapter_a}, std::pair{x.run_b, &x.adapter_b}}) {
      *out = run_dir + "-adapter";
      r = run(plotforge_bin() + " export --checkpoint " + run_dir + " --out " + *out + " --format peft --base-bundle " +
              x.base_bundle);
      if (r.exit_code != 0) throw std::runtime_error(r.output);
    }
    return x;
  }();
  return s;
}

// Logits of `prompt` for every position: the runtime's, for a batch of
// sequences each with its own adapter (null: the base), all at once.
std::vector<std::vector<float>> runtime_logits(const runtime::Model& model,
                                               const std::vector<std::shared_ptr<const runtime::Adapter>>& adapters,
                                               const std::vector<int>& prompt) {
  runtime::Runtime rt = runtime::make_runtime(model, "cpu", 16, 64);
  std::vector<runtime::Sequence> seqs(adapters.size());
  std::vector<runtime::BatchItem> batch;
  for (std::size_t i = 0; i < adapters.size(); ++i) {
    seqs[i].adapter = adapters[i];
    batch.push_back({&seqs[i], prompt, true});
  }
  const std::vector<float> all = rt.engine->forward(batch);
  const std::size_t per = all.size() / adapters.size();
  std::vector<std::vector<float>> out;
  for (std::size_t i = 0; i < adapters.size(); ++i)
    out.emplace_back(all.begin() + i * per, all.begin() + (i + 1) * per);
  return out;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// A batch mixing two adapters and the bare base gives each request the
// logits it gets alone, and those are the libtorch LoRA model's; merged
// mode gives the same; an adapter of another base is refused.
TEST(RuntimeAdapters, MixedBatchGivesEachRequestItsOwnLogits) {
  NEEDS_PYTHON();
  const Served& s = served();
  const auto model = runtime::Model::load(s.base_bundle);
  const auto a = runtime::Adapter::load(s.adapter_a, *model), b = runtime::Adapter::load(s.adapter_b, *model);
  const std::vector<int> prompt =
      model->tokenizer().encode("<genre=comedy>\n<scene>\nPUCK\nWhat fools these mortals be!");
  const auto mixed = runtime_logits(*model, {a, nullptr, b, a}, prompt);
  const std::vector<std::shared_ptr<const runtime::Adapter>> which = {a, nullptr, b, a};
  for (std::size_t i = 0; i < which.size(); ++i) {
    const auto alone = runtime_logits(*model, {which[i]}, prompt)[0];
    EXPECT_LE(max_diff(mixed[i], alone), 1e-4) << "request " << i;
  }
  EXPECT_GT(max_diff(mixed[0], mixed[1]), 1e-3) << "the adapter changes the logits";
  EXPECT_GT(max_diff(mixed[0], mixed[2]), 1e-3) << "the two adapters differ";
  const std::vector<std::int64_t> p64(prompt.begin(), prompt.end());
  for (const auto& [run_dir, row] : {std::pair{s.run_a, 0}, std::pair{s.run_b, 2}}) {
    Transformer m = load_transformer(open_run(run_dir, "transformer"));
    m->eval();
    torch::NoGradGuard g;
    const auto t = m->forward(torch::tensor(p64).unsqueeze(0)).squeeze(0).contiguous();
    const std::vector<float> expect(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    EXPECT_LE(max_diff(mixed[row], expect), 1e-4) << run_dir;
  }
  const auto merged = runtime::Model::load(s.base_bundle, std::nullopt, s.adapter_b);
  EXPECT_LE(max_diff(runtime_logits(*merged, {nullptr}, prompt)[0], mixed[2]), 1e-4) << "merged mode";

  // An adapter of another base: its LoRA run's merged bundle is a model
  // the adapter was not trained on.
  const std::string other = testing::temp_dir("other-base") + "/bundle";
  const auto r = run(plotforge_bin() + " export --checkpoint " + s.run_b + " --out " + other);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto other_model = runtime::Model::load(other);
  try {
    runtime::Adapter::load(s.adapter_a, *other_model);
    ADD_FAILURE() << "an adapter of another base loaded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(s.adapter_a + "/adapter_model.safetensors: an adapter for another base"),
              std::string::npos)
        << e.what();
  }
}

// Greedy text through plotforge-run with the adapter (beside the weights,
// and merged) is plotforge generate's on the LoRA run.
TEST(RuntimeAdapters, GreedyTextEqualsPlotforgeGenerate) {
  NEEDS_PYTHON();
  const Served& s = served();
  const std::string runtime_bin = (fs::path(plotforge_bin()).parent_path() / "plotforge-run").string();
  const std::string options = " --genre comedy --prompt 'PUCK' --max-new-tokens 40 --temperature 0 --seed 3";
  const auto expect = testing::run_stdout(plotforge_bin() + " generate --checkpoint " + s.run_b + options);
  ASSERT_EQ(expect.exit_code, 0) << expect.output;
  const auto beside =
      testing::run_stdout(runtime_bin + " generate --bundle " + s.base_bundle + " --adapter " + s.adapter_b + options);
  ASSERT_EQ(beside.exit_code, 0) << beside.output;
  const auto merged = testing::run_stdout(runtime_bin + " generate --bundle " + s.base_bundle + " --merge-adapter " +
                                          s.adapter_b + options);
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  const auto bare = testing::run_stdout(runtime_bin + " generate --bundle " + s.base_bundle + options);
  EXPECT_EQ(beside.output, expect.output);
  EXPECT_EQ(merged.output, expect.output);
  EXPECT_NE(bare.output, expect.output) << "the adapter changes what is generated";
}

// The server: each adapter is a model of /v1/models, and a request's
// `model` picks it (curl, a real process on loopback).
TEST(RuntimeAdapters, ServerModelFieldSelectsTheAdapter) {
  NEEDS_PYTHON();
  const Served& s = served();
  const std::string runtime_bin = (fs::path(plotforge_bin()).parent_path() / "plotforge-run").string();
  const std::string dir = testing::temp_dir("adapter-server");
  const std::string log = dir + "/server.log";
  auto r = run(runtime_bin + " serve --bundle " + s.base_bundle + " --port 0 --db " + dir +
               "/s.db --adapter comedy=" + s.adapter_b + " --adapter other=" + s.adapter_a + " > " + dir +
               "/out.txt 2> " + log + " & echo $! > " + dir + "/pid");
  ASSERT_EQ(r.exit_code, 0);
  std::string url;
  for (int i = 0; i < 600 && url.empty(); ++i) {
    const std::string out = testing::read_text(dir + "/out.txt");
    const auto at = out.find("http://");
    if (at != std::string::npos) url = out.substr(at, out.find('\n', at) - at);
    if (url.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  struct Kill {
    std::string pid;
    ~Kill() { run("kill " + pid + " 2>/dev/null"); }
  } kill{testing::read_text(dir + "/pid")};
  ASSERT_FALSE(url.empty()) << testing::read_text(log);
  const auto models = nlohmann::json::parse(run("curl -s " + url + "/v1/models").output);
  std::set<std::string> ids;
  for (const auto& m : models["data"]) ids.insert(m["id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"base", "comedy", "other"})) << models.dump();
  auto complete = [&](const std::string& model) {
    const std::string body = "{\"model\": \"" + model +
                             "\", \"prompt\": \"PUCK\", \"genre\": \"comedy\", \"max_tokens\": 40, "
                             "\"temperature\": 0}";
    return run("curl -s -w '\\n%{http_code}' " + url + "/v1/completions -H 'Content-Type: application/json' -d '" +
               body + "'")
        .output;
  };
  const std::string runtime_options = " --genre comedy --prompt PUCK --max-new-tokens 40 --temperature 0";
  const auto expect =
      nlohmann::json::parse(testing::run_stdout(runtime_bin + " generate --bundle " + s.base_bundle + " --adapter " +
                                                s.adapter_b + runtime_options + " --logprobs")
                                .output);
  const std::string comedy = complete("comedy");
  ASSERT_NE(comedy.find("\n200"), std::string::npos) << comedy;
  const auto body = nlohmann::json::parse(comedy.substr(0, comedy.rfind('\n')));
  EXPECT_EQ(body["model"], "comedy");
  // generate prints the prompt and its continuation; the API returns the continuation.
  const std::string text = body["choices"][0]["text"], expect_text = expect[0]["text"];
  ASSERT_FALSE(text.empty()) << comedy;
  ASSERT_GE(expect_text.size(), text.size());
  EXPECT_EQ(expect_text.substr(expect_text.size() - text.size()), text) << comedy << "\n" << expect_text;
  const std::string base = complete("base");
  EXPECT_NE(base.substr(0, base.rfind('\n')), comedy.substr(0, comedy.rfind('\n')));
  const std::string unknown = complete("tragedy");
  EXPECT_NE(unknown.find("\n404"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("model_not_found"), std::string::npos) << unknown;
}

}  // namespace
}  // namespace plotforge
