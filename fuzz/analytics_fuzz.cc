// libFuzzer target: the audience report over an event log it did not
// write (analytics/report.h). Each input line is one event row, its fields
// separated by tabs: kind, passage, viewer, data, time. They are inserted
// raw (foreign keys off, as a hand-edited or foreign database may hold)
// into a fresh story database with a small tree; the report must come back
// (counting what it cannot use), never crash or throw anything but the
// 404 of a story that is not there.
#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "analytics/report.h"
#include "stories/store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  char dir[] = "/tmp/plotforge-analytics-fuzz-XXXXXX";
  if (!mkdtemp(dir)) return 0;
  const std::string path = std::string(dir) + "/s.db";
  std::string story;
  {
    plotforge::stories::Store store(path);
    plotforge::stories::Passage opening;
    opening.text = "INT. HALL";
    opening.author = "human";
    const auto st = store.create("t", "p", nlohmann::json::object(), opening);
    story = st.id;
    std::vector<plotforge::stories::Passage> kids(3);
    for (auto& k : kids) {
      k.author = "model";
      k.text = "x";
      k.controls = {{"beat", "climax"}, {"measured_valence", 0.5}};
    }
    store.add_passages(st.id, st.root, kids, "branches", nlohmann::json::object());
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, ?, ?, ?, ?, ?)", -1,
                       &s, nullptr);
    std::size_t start = 0;
    int rows = 0;
    while (start < input.size() && rows < 200) {
      std::size_t nl = input.find('\n', start);
      if (nl == std::string::npos) nl = input.size();
      std::vector<std::string> f;
      std::size_t a = start;
      while (f.size() < 5) {
        const std::size_t tab = input.find('\t', a);
        if (tab == std::string::npos || tab >= nl) {
          f.push_back(input.substr(a, nl - a));
          break;
        }
        f.push_back(input.substr(a, tab - a));
        a = tab + 1;
      }
      f.resize(5);
      sqlite3_reset(s);
      sqlite3_bind_text(s, 1, story.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(s, 2, std::strtoll(f[1].c_str(), nullptr, 10));
      sqlite3_bind_text(s, 3, f[0].c_str(), static_cast<int>(f[0].size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 4, f[3].c_str(), static_cast<int>(f[3].size()), SQLITE_TRANSIENT);
      sqlite3_bind_double(s, 5, std::strtod(f[4].c_str(), nullptr));
      if (!f[2].empty()) sqlite3_bind_text(s, 6, f[2].c_str(), static_cast<int>(f[2].size()), SQLITE_TRANSIENT);
      sqlite3_step(s);
      start = nl + 1;
      ++rows;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    plotforge::stories::Store store(path, false);
    (void)plotforge::analytics::audience_report(store);
    (void)plotforge::analytics::audience_report(store, story);
  }
  unlink(path.c_str());
  unlink((path + "-wal").c_str());
  unlink((path + "-shm").c_str());
  rmdir(dir);
  return 0;
}
