// Checkpoint formats: format 1 (before settings were declared once) still
// loads and gives the same tokens as the plotforge that wrote it; format 2
// keeps the configuration once, as JSON from the settings tables; an unknown
// format is refused with its name.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include "base/error.h"
#include "tests/test_util.h"
#include "training/checkpoint.h"
#include "training/settings.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;
using testing::plotforge_bin;
using testing::read_text;
using testing::run_stdout;

std::string fixtures() { return std::string(PLOTFORGE_SOURCE_DIR) + "/tests/data/checkpoint-format-1"; }

TEST(CheckpointFormat, Format1TransformerGeneratesWhatItsPlotforgeGenerated) {
  const std::string dir = testing::temp_dir("ckpt-v1-tr");
  fs::copy(fixtures() + "/transformer", dir + "/run", fs::copy_options::recursive);
  const auto state = load_checkpoint(resolve_checkpoint(dir + "/run"));
  EXPECT_EQ(state.kind, "transformer");
  EXPECT_EQ(state.model.dim, 16);
  EXPECT_EQ(state.model.n_heads, 2);
  EXPECT_EQ(state.model.context, 32);
  EXPECT_EQ(state.model.vocab_size, 400);
  const auto r = run_stdout(plotforge_bin() + " generate --checkpoint " + dir +
                            "/run --temperature 0 --max-new-tokens 12 --prompt MACBETH");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, read_text(fixtures() + "/transformer-greedy.txt"));
}

TEST(CheckpointFormat, Format1VaeExportsABundleTheRuntimeDecodesAsBefore) {
  const std::string dir = testing::temp_dir("ckpt-v1-vae");
  fs::copy(fixtures() + "/vae", dir + "/run", fs::copy_options::recursive);
  auto r = run_stdout(plotforge_bin() + " export --checkpoint " + dir + "/run --out " + dir + "/bundle");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string runtime = (fs::path(plotforge_bin()).parent_path() / "plotforge-run").string();
  r = run_stdout(runtime + " generate --bundle " + dir +
                 "/bundle --latent 0.5,-1,0.25,2 --temperature 0 --max-new-tokens 12");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, read_text(fixtures() + "/vae-latent-greedy.txt"));
}

TEST(CheckpointFormat, Format2KeepsTheConfigurationOnceAsTheTablesWriteIt) {
  const std::string dir = testing::temp_dir("ckpt-v2");
  torch::nn::Linear m(2, 3);
  CheckpointState s;
  s.kind = "vae";
  s.model.vocab_size = 50;
  s.model.dim = 24;
  VAESettings v;
  v.latent = 7;
  v.offset_init = 0.25;
  TrainOptions t;
  t.lr = 3e-4;
  s.config["vae"] = to_json(v);
  s.config["train"] = to_json(t);
  const std::string path = dir + "/c.pt";
  save_checkpoint(path, {m.get()}, s);
  const CheckpointState back = load_checkpoint(path);
  EXPECT_EQ(back.kind, "vae");
  EXPECT_EQ(back.model.vocab_size, 50);
  EXPECT_EQ(back.model.dim, 24);
  VAESettings v2;
  from_json(back.config.at("vae"), &v2, "vae");
  EXPECT_EQ(v2.latent, 7);
  EXPECT_EQ(v2.offset_init, 0.25);
  TrainOptions t2;
  from_json(back.config.at("train"), &t2, "train");
  EXPECT_EQ(t2.lr, 3e-4);
  EXPECT_FALSE(back.config.contains("model"));  // held once, in back.model
}

TEST(CheckpointFormat, AnUnknownFormatIsRefusedByName) {
  const std::string path = testing::temp_dir("ckpt-v9") + "/c.pt";
  torch::serialize::OutputArchive a;
  a.write("format", c10::IValue(std::string("plotforge-checkpoint-9")));
  a.save_to(path);
  try {
    load_checkpoint(path);
    FAIL() << "loaded an unknown format";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("plotforge-checkpoint-9"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace plotforge
