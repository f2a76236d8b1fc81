// The plotforge executable, run as a real process: output and exit codes.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace plotforge {
namespace {

using testing::plotforge_bin;
using testing::run;

TEST(Cli, HelpAndUnknownThings) {
  EXPECT_EQ(run(plotforge_bin() + " help").exit_code, 0);
  auto r = run(plotforge_bin() + " frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " inspect --no-such-option x.fountain");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no-such-option"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " prepare --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--val-fraction"), std::string::npos) << r.output;
}

TEST(Cli, InspectJsonOnHamlet) {
  const auto r = run(plotforge_bin() + " inspect --json " + testing::sample_dir() + "/hamlet.fountain 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["title"], "The Tragedy of Hamlet, Prince of Denmark");
  EXPECT_EQ(j["genres"], nlohmann::json::array({"tragedy"}));
  EXPECT_EQ(j["acts"], 5);
  EXPECT_EQ(j["scenes"], 20);
  EXPECT_EQ(j["beats"].size(), 20u);
  EXPECT_EQ(j["beats"][0], "exposition");
  EXPECT_EQ(j["speeches"], j["elements"]["character"]);
  EXPECT_GT(j["speeches"].get<int>(), 1000);
  const auto& chars = j["characters"];
  EXPECT_NE(std::find(chars.begin(), chars.end(), "HAMLET"), chars.end());
  for (const auto& c : chars) EXPECT_EQ(c.get<std::string>().find('('), std::string::npos) << c;
}

TEST(Cli, BadInputsExitNonZeroNamingTheFile) {
  const std::string dir = testing::temp_dir("cli-bad");
  testing::write_text(dir + "/latin1.fountain", "INT. CAF\xE9 - DAY\n");
  testing::write_text(dir + "/binary.fountain", std::string("\x7f"
                                                            "ELF\0\0\0",
                                                            7));
  testing::write_text(dir + "/note.fountain", "Hello\n\n[[never closed\n");
  std::filesystem::create_directories(dir + "/empty");
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"inspect " + dir + "/latin1.fountain", "latin1.fountain:1: invalid UTF-8"},
      {"inspect " + dir + "/binary.fountain", "binary.fountain:1: NUL byte"},
      {"inspect " + dir + "/note.fountain", "note.fountain:3: unterminated note"},
      {"inspect " + dir + "/missing.fountain", "missing.fountain: no such file"},
      {"tokenizer train --input " + dir + "/empty --out " + dir + "/t.model", "corpus is empty"},
      {"prepare --input " + testing::sample_dir() + " --tokenizer " + dir + "/none.model --out " + dir + "/c.h5",
       "none.model: tokenizer not found"},
      {"prepare --input " + testing::sample_dir() + " --tokenizer " + testing::sample_tokenizer() + " --out " + dir +
           "/c.h5 --val-fraction 1.5",
       "--val-fraction"},
      // Refused in the launcher, before any rank starts.
      {"train --config " + std::string(PLOTFORGE_SOURCE_DIR) + "/configs/tiny.ini --data " + dir + "/none.h5 --out " +
           dir + "/run --cpu-matmul fp16",
       "--cpu-matmul: 'fp16' is not auto, fp32 or bf16"},
  };
  for (const auto& c : cases) {
    const auto r = run(plotforge_bin() + " " + c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/c.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
}

TEST(Cli, RecommendEvalOnAPlantedLog) {
  // Two audiences, two kinds of item; item-kNN on the kind beats popularity.
  const std::string dir = testing::temp_dir("recommend");
  std::string log = "user,item,rating,time\n", items = "item,kind\n";
  for (int u = 0; u < 60; ++u)
    for (int i = 0; i < 8; ++i)
      log += "u" + std::to_string(u) + ",i" + std::to_string((u % 2) * 20 + (u * 7 + i * 3) % 20) + ",1," +
             std::to_string(i) + "\n";
  for (int i = 0; i < 40; ++i) items += "i" + std::to_string(i) + "," + (i < 20 ? "A" : "B") + "\n";
  testing::write_text(dir + "/log.csv", log);
  testing::write_text(dir + "/items.csv", items);
  auto metrics = [&](const std::string& extra) {
    const auto r =
        testing::run_stdout(plotforge_bin() + " recommend eval --json --interactions " + dir + "/log.csv " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  };
  const auto knn = metrics("--model itemknn --item-features " + dir + "/items.csv");
  const auto pop = metrics("--model popularity");
  EXPECT_GT(knn["ndcg"].get<double>(), pop["ndcg"].get<double>());
  const auto als = metrics("--model als --factors 8 --iterations 5");
  EXPECT_GT(als["ndcg"].get<double>(), pop["ndcg"].get<double>());
  EXPECT_EQ(metrics("--model als --factors 8 --iterations 5")["ndcg"], als["ndcg"]);  // seeded
  const auto bpr = metrics("--model bpr --factors 8 --epochs 10 --batch 64 --lr 0.05 --reg 1e-4");
  EXPECT_GT(bpr["ndcg"].get<double>(), pop["ndcg"].get<double>());
  const auto hybrid = metrics(
      "--model hybrid --factors 8 --epochs 10 --batch 64 --lr 0.05 --reg 1e-4 --item-features " + dir + "/items.csv");
  EXPECT_GT(hybrid["ndcg"].get<double>(), pop["ndcg"].get<double>());
  EXPECT_EQ(knn["users"], 60);
  EXPECT_EQ(metrics("--split leave-last")["test"], 60);
  auto r = run(plotforge_bin() + " recommend eval --interactions " + dir + "/log.csv --model lightgcn");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--model lightgcn"), std::string::npos) << r.output;
  r = run(plotforge_bin() + " recommend eval --interactions " + dir + "/log.csv --model hybrid");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--item-features"), std::string::npos) << r.output;
  testing::write_text(dir + "/bad.csv", "u,i,1\nu,i,2\n");
  r = run(plotforge_bin() + " recommend eval --interactions " + dir + "/bad.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("bad.csv:2"), std::string::npos) << r.output;
  // A test split of its own: its rows are the test set; a user or item the
  // training file lacks, or a pair it holds, is named with its line.
  testing::write_text(dir + "/test.csv", "user,item\nu0,i2\nu1,i21\n");
  const auto own = metrics("--model popularity --test " + dir + "/test.csv");
  EXPECT_EQ(own["test"], 2);
  EXPECT_EQ(own["train"], 480);
  EXPECT_EQ(own["split"], "file");
  for (const auto& [rows, says] : std::vector<std::pair<std::string, std::string>>{
           {"user,item\nu0,i2\nstranger,i2\n", "test.csv:3: user 'stranger' is not in the training"},
           {"u0,i2\nu1,i99\n", "test.csv:2: item 'i99' is not in the training"},
           {"u0,i0\n", "test.csv:1: user 'u0' and item 'i0' are also in the training"}}) {
    testing::write_text(dir + "/test.csv", rows);
    r = run(plotforge_bin() + " recommend eval --interactions " + dir + "/log.csv --test " + dir + "/test.csv");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
  }
}

TEST(Cli, TrainTokenizerThenPrepareFromAConfigFile) {
  const std::string dir = testing::temp_dir("cli-flow");
  testing::write_text(dir + "/prepare.ini", "val-fraction = 0.2\nthreads = 2\n");
  auto r = run(plotforge_bin() + " tokenizer train --input " + testing::sample_dir() + " --out " + dir +
               "/tok.model --vocab-size 1500");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run(plotforge_bin() + " prepare --config " + dir + "/prepare.ini --quiet --input " + testing::sample_dir() +
          " --tokenizer " + dir + "/tok.model --out " + dir + "/c.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote " + dir + "/c.h5: 8 documents"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace plotforge
