// The trainer and generator through the real executable, as separate
// processes: training runs, exact resume after SIGKILL, corrupt checkpoints,
// logs read back by TensorBoard, and generation.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace plotforge {
namespace {

namespace fs = std::filesystem;
using testing::plotforge_bin;
using testing::run;

const std::string& sample_corpus() {
  static const std::string path = testing::prepared_sample_corpus(1000);
  return path;
}

std::string train_args(const std::string& out, int steps) {
  return " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " + sample_corpus() +
         " --out " + out + " --max-steps " + std::to_string(steps) +
         " --batch-size 4 --model.context 48 --eval-every 10 --eval-batches 2 --checkpoint-every 5 --log-every 1 "
         "--warmup-steps 5 --keep-last 2 --seed 11";
}

std::map<long, double> step_losses(const std::string& run_dir) {
  std::map<long, double> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out[j["step"].get<long>()] = j["loss"].get<double>();
  }
  return out;
}

TEST(Trainer, TrainsAndWritesItsRunDirectory) {
  const std::string out = testing::temp_dir("train-basic");
  const auto r = run(plotforge_bin() + train_args(out, 40));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters"), std::string::npos);
  EXPECT_NE(r.output.find("step 40/40"), std::string::npos) << r.output;
  const auto losses = step_losses(out);
  ASSERT_EQ(losses.size(), 40u);
  EXPECT_LT(losses.at(40), losses.at(1) - 1.0) << "the loss should fall";
  EXPECT_TRUE(fs::exists(out + "/tokenizer.model"));
  EXPECT_TRUE(fs::exists(out + "/checkpoints/best.pt"));
  EXPECT_TRUE(fs::exists(out + "/checkpoints/step-00000040.pt"));
  EXPECT_TRUE(fs::exists(out + "/checkpoints/step-00000035.pt"));
  EXPECT_FALSE(fs::exists(out + "/checkpoints/step-00000030.pt"));  // keep-last 2
  int evals = 0;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("val_loss")) {
      ++evals;
      EXPECT_NEAR(j["val_ppl"].get<double>(), std::exp(j["val_loss"].get<double>()), 1e-6);
    } else {
      for (const char* k : {"lr", "grad_norm", "tokens_per_s", "elapsed_s"}) EXPECT_TRUE(j.contains(k)) << k;
    }
  }
  EXPECT_EQ(evals, 4);
  const auto tb = run("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/tests/read_tfevents.py " + out);
  EXPECT_EQ(tb.exit_code, 0) << tb.output;
  const auto plot = run("python3 " + std::string(PLOTFORGE_SOURCE_DIR) + "/scripts/plot_metrics.py " + out + " --out " +
                        out + "/loss.png");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  std::ifstream png(out + "/loss.png", std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(fs::file_size(out + "/loss.png"), 10000u);
}

TEST(Trainer, ResumeAfterSigkillReproducesEveryLossBitForBit) {
  const std::string straight = testing::temp_dir("resume-straight"), killed = testing::temp_dir("resume-killed");
  ASSERT_EQ(run(plotforge_bin() + train_args(straight, 30)).exit_code, 0);
  const auto expect = step_losses(straight);
  ASSERT_EQ(expect.size(), 30u);

  // Start the same run as a child and SIGKILL it once it has logged 17 steps.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = "exec " + plotforge_bin() + train_args(killed, 30) + " --quiet > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::size_t logged = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    logged = fs::exists(killed + "/metrics.jsonl") ? step_losses(killed).size() : 0;
    if (logged >= 17) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";
  const std::size_t at_kill = step_losses(killed).size();
  ASSERT_GE(at_kill, 17u);
  ASSERT_LT(at_kill, 30u);

  const auto r = run(plotforge_bin() + train_args(killed, 30) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming from"), std::string::npos) << r.output;
  const auto got = step_losses(killed);
  ASSERT_EQ(got.size(), 30u);
  for (const auto& [step, loss] : expect) EXPECT_EQ(got.at(step), loss) << "step " << step;
  // Resuming a finished run trains nothing and says so (not "loss 0").
  const auto again = run(plotforge_bin() + train_args(killed, 30) + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already at step 30 of 30: nothing to train"), std::string::npos) << again.output;
  EXPECT_EQ(step_losses(killed).size(), 30u);
}

TEST(Trainer, ResumeSkipsACorruptCheckpoint) {
  const std::string out = testing::temp_dir("resume-corrupt");
  ASSERT_EQ(run(plotforge_bin() + train_args(out, 20)).exit_code, 0);
  const std::string newest = out + "/checkpoints/step-00000020.pt";
  fs::resize_file(newest, fs::file_size(newest) / 2);
  const auto r = run(plotforge_bin() + train_args(out, 25) + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: skipping " + newest), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(step 15)"), std::string::npos) << r.output;
  EXPECT_EQ(step_losses(out).size(), 25u);
}

TEST(Trainer, ClearErrorsForBadConfigAndMismatchedCorpus) {
  const std::string out = testing::temp_dir("train-errors");
  auto r = run(plotforge_bin() + train_args(out, 5) + " --model.n_heads 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("model.n_heads: 3 must divide dim = 64"), std::string::npos) << r.output;
  r = run(plotforge_bin() + train_args(out, 5) + " --lr -1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("lr:"), std::string::npos) << r.output;
  r = run(plotforge_bin() + train_args(out, 5) + " --device cuda");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--device cuda"), std::string::npos) << r.output;
  r = run(plotforge_bin() + train_args(out, 5) + " --batch-sise 3");
  EXPECT_EQ(r.exit_code, 2);

  // A run resumed on a corpus made with another tokenizer.
  ASSERT_EQ(run(plotforge_bin() + train_args(out, 5)).exit_code, 0) << r.output;
  const std::string dir = testing::temp_dir("other-tok");
  ASSERT_EQ(run(plotforge_bin() + " tokenizer train --input " + testing::sample_dir() + " --out " + dir +
                "/tok.model --vocab-size 900")
                .exit_code,
            0);
  ASSERT_EQ(run(plotforge_bin() + " prepare --quiet --val-fraction 0.3 --input " + testing::sample_dir() +
                " --tokenizer " + dir + "/tok.model --out " + dir + "/c.h5")
                .exit_code,
            0);
  r = run(plotforge_bin() + " train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " + dir +
          "/c.h5 --out " + out + " --max-steps 10 --model.context 48 --resume");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("tokenizer sha256"), std::string::npos) << r.output;

  // A run whose tokenizer.model was swapped: generate and export refuse it,
  // naming the file (open_run), and so does a VAE starting from it.
  fs::copy_file(dir + "/tok.model", out + "/tokenizer.model", fs::copy_options::overwrite_existing);
  for (const std::string cmd :
       {" generate --checkpoint " + out + " --max-new-tokens 5",
        " export --checkpoint " + out + " --out " + dir + "/bundle",
        " train --kind vae --data " + sample_corpus() + " --out " + dir + "/vae --max-steps 1" +
            " --model.dim 64 --model.n_layers 2 --model.context 48 --vae.init_decoder " + out}) {
    r = run(plotforge_bin() + cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(out + "/tokenizer.model: sha256 differs"), std::string::npos) << cmd << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(dir + "/bundle/model.safetensors"));
}

TEST(Generate, SeededConditionedAndParseable) {
  const std::string out = testing::temp_dir("generate");
  ASSERT_EQ(run(plotforge_bin() + train_args(out, 20)).exit_code, 0);
  const std::string gen = plotforge_bin() + " generate --checkpoint " + out + " --genre tragedy --beat climax " +
                          "--max-new-tokens 40 --n 2";
  const auto a = testing::run_stdout(gen + " --seed 1"), b = testing::run_stdout(gen + " --seed 1"),
             c = testing::run_stdout(gen + " --seed 2");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output, c.output);
  EXPECT_EQ(a.output.find("<scene>"), std::string::npos) << "control tokens are stripped";
  EXPECT_NE(a.output.find("==="), std::string::npos) << "samples are separated by page breaks";
  const std::string path = out + "/sample.fountain";
  testing::write_text(path, a.output);
  const auto inspect = run(plotforge_bin() + " inspect --json " + path);
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  const auto greedy = plotforge_bin() + " generate --checkpoint " + out + " --temperature 0 --max-new-tokens 30";
  EXPECT_EQ(testing::run_stdout(greedy + " --seed 1").output, testing::run_stdout(greedy + " --seed 9").output);
  auto r = run(plotforge_bin() + " generate --checkpoint " + out + " --genre western");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("known: comedy, history, tragedy"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " generate --checkpoint " + out + "/nothing");
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace plotforge
