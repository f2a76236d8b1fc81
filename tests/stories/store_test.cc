// The story database on its own: migrations, refusing what is not ours,
// several servers opening one new file at once, and the tree's rules.
#include "stories/store.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "serving/api_error.h"
#include "tests/test_util.h"

namespace plotforge::stories {
namespace {

Passage opening(const std::string& text) {
  Passage p;
  p.text = text;
  p.tokens = {5, 6, 7};
  p.author = "human";
  return p;
}

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const serving::ApiError& e) {
    return e.status();
  }
  return 200;
}

TEST(Store, MigratesOnceAndKeepsWhatItHolds) {
  const std::string db = testing::temp_dir("store-migrate") + "/s.db";
  std::string id;
  {
    Store s(db);
    id = s.create("T", "premise", nlohmann::json::object(), opening("premise")).id;
  }
  Store again(db);
  EXPECT_EQ(again.story(id).title, "T");
  EXPECT_EQ(again.passages(id).at(0).tokens, (std::vector<int>{5, 6, 7}));
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), Store::kSchemaVersion);
  sqlite3_finalize(st);
  sqlite3_close(h);
}

TEST(Store, RefusesANewerSchemaAndFilesThatAreNotDatabases) {
  const std::string dir = testing::temp_dir("store-refuse");
  {
    sqlite3* h = nullptr;
    sqlite3_open((dir + "/new.db").c_str(), &h);
    sqlite3_exec(h, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  try {
    Store s(dir + "/new.db");
    FAIL() << "opened a newer schema";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/text.db") << "this is not a database, just some text that is long enough to have a header";
  EXPECT_THROW(Store(dir + "/text.db"), InputError);
  EXPECT_THROW(Store(dir + "/missing/dir/s.db"), InputError);
}

TEST(Store, ServersOpeningOneNewFileAtOnceAllSucceed) {
  const std::string db = testing::temp_dir("store-race") + "/s.db";
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      try {
        Store s(db);
        s.create("T", "p", nlohmann::json::object(), opening("p"));
        ++ok;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(Store(db).list(100, "").size(), 6u);
}

TEST(Store, TheTreesRules) {
  Store s(testing::temp_dir("store-rules") + "/s.db");
  const Story a = s.create("A", "p", nlohmann::json::object(), opening("p"));
  const Story b = s.create("B", "p", nlohmann::json::object(), opening("p"));
  std::vector<Passage> kids(2, opening("child"));
  for (auto& k : kids) k.author = "model";
  s.add_passages(a.id, a.root, kids, "branches", nlohmann::json::object());
  EXPECT_EQ(status_of([&] { s.choose(b.id, kids[0].id); }), 404);      // another story's passage
  EXPECT_EQ(status_of([&] { s.undo(a.id); }), 409);                    // at the opening
  EXPECT_EQ(status_of([&] { s.choose(a.id, a.root); }), 409);          // not a candidate
  EXPECT_EQ(status_of([&] { s.edit(a.id, a.root, "x", {1}); }), 409);  // has children
  s.choose(a.id, kids[1].id);
  std::vector<std::int64_t> path;
  for (const Passage& p : s.path(a.id, kids[1].id)) path.push_back(p.id);
  EXPECT_EQ(path, (std::vector<std::int64_t>{a.root, kids[1].id}));
  // A retry replaces the candidates off the path only.
  std::vector<Passage> again(1, kids[0]);
  s.add_passages(a.id, a.root, again, "retry", nlohmann::json::object(), /*replace=*/true);
  EXPECT_EQ(s.children(a.root), (std::vector<std::int64_t>{kids[1].id, again[0].id}));
  EXPECT_EQ(status_of([&] { s.story("st_nope"); }), 404);
  s.remove(a.id);
  EXPECT_EQ(status_of([&] { s.story(a.id); }), 404);
  EXPECT_EQ(s.count_events(a.id), 0);
}

}  // namespace
}  // namespace plotforge::stories
