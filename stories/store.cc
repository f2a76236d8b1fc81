#include "stories/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <unordered_map>

#include "base/error.h"
#include "serving/api_error.h"

namespace plotforge::stories {

using nlohmann::json;
using serving::ApiError;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string random_hex(int bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rng() & 0xff);
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

// A random (version 4) UUID in upper case, as Twine writes IFIDs.
std::string uuid4() {
  std::string h = random_hex(16);
  h[12] = '4';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  std::string u =
      h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// One prepared statement; throws InputError with SQLite's message.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail();
  }
  ~Statement() { sqlite3_finalize(s_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Statement& bind(int i, const std::vector<int>& tokens) {
    std::vector<std::int32_t> le(tokens.begin(), tokens.end());
    if (le.empty()) {
      sqlite3_bind_zeroblob(s_, i, 0);  // an empty blob; a null pointer would bind NULL
    } else {
      sqlite3_bind_blob(s_, i, le.data(), static_cast<int>(le.size() * 4), SQLITE_TRANSIENT);
    }
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail();
    return false;
  }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, c)) : std::string();
  }
  std::int64_t integer(int c) const { return sqlite3_column_int64(s_, c); }
  double real(int c) const { return sqlite3_column_double(s_, c); }
  std::vector<int> tokens(int c) const {
    const int n = sqlite3_column_bytes(s_, c) / 4;
    std::vector<std::int32_t> v(n);
    if (n) std::memcpy(v.data(), sqlite3_column_blob(s_, c), static_cast<std::size_t>(n) * 4);
    return std::vector<int>(v.begin(), v.end());
  }

 private:
  [[noreturn]] void fail() { throw InputError(std::string("story database: ") + sqlite3_errmsg(db_)); }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() is reached.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string m = err ? err : "unknown error";
      sqlite3_free(err);
      throw InputError(std::string("story database: ") + sql + ": " + m);
    }
  }
  sqlite3* db_;
  bool done_ = false;
};

// A JSON column; an unreadable one (written by hand) reads as {}.
json json_column(const Statement& s, int c) {
  json j = json::parse(s.text(c), nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

Passage read_passage(const Statement& s) {
  Passage p;
  p.id = s.integer(0);
  p.parent = s.integer(1);
  p.text = s.text(2);
  p.tokens = s.tokens(3);
  p.controls = json_column(s, 4);
  p.author = s.text(5);
  p.created = s.real(6);
  return p;
}

Story read_story(const Statement& s) {
  Story st;
  st.id = s.text(0);
  st.title = s.text(1);
  st.premise = s.text(2);
  st.ifid = s.text(3);
  st.controls = json_column(s, 4);
  st.root = s.integer(5);
  st.current = s.integer(6);
  st.created = s.real(7);
  st.updated = s.real(8);
  return st;
}

constexpr const char* kPassageColumns = "id, parent, text, tokens, controls, author, created";
constexpr const char* kStoryColumns = "id, title, premise, ifid, controls, root, current, created, updated";

}  // namespace

Store::Store(const std::string& path, bool create) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string m = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw InputError(path + ": cannot open the story database: " + m + "; pass another --db");
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");  // a passage answered to a client survives a crash
    exec("PRAGMA foreign_keys=ON");
    // The version is read inside the write transaction, so two servers
    // opening a new file at once migrate it once; the statement is
    // finalized before the migration writes.
    Transaction t(db_);
    int version = 0;
    {
      Statement v(db_, "PRAGMA user_version");
      v.step();
      version = static_cast<int>(v.integer(0));
    }
    if (version > kSchemaVersion) {
      throw InputError(path + ": the story database has schema version " + std::to_string(version) +
                       ", newer than this plotforge-run's " + std::to_string(kSchemaVersion) + "; use a newer build");
    }
    if (version < 1) {
      exec(R"(CREATE TABLE stories (
                id TEXT PRIMARY KEY, title TEXT NOT NULL, premise TEXT NOT NULL, ifid TEXT NOT NULL,
                controls TEXT NOT NULL, root INTEGER, current INTEGER,
                created REAL NOT NULL, updated REAL NOT NULL))");
      exec(R"(CREATE TABLE passages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
                parent INTEGER REFERENCES passages(id) ON DELETE CASCADE,
                text TEXT NOT NULL, tokens BLOB NOT NULL, controls TEXT NOT NULL,
                author TEXT NOT NULL CHECK (author IN ('model', 'human')), created REAL NOT NULL))");
      exec("CREATE INDEX passages_by_parent ON passages(parent)");
      exec("CREATE INDEX passages_by_story ON passages(story)");
      exec(R"(CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
                passage INTEGER REFERENCES passages(id) ON DELETE CASCADE,
                kind TEXT NOT NULL, data TEXT NOT NULL, at REAL NOT NULL))");
      exec("CREATE INDEX events_by_story ON events(story)");
    }
    if (version < 2) {
      exec("ALTER TABLE events ADD COLUMN viewer TEXT");
      exec(R"(CREATE TABLE playthroughs (
                story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
                viewer TEXT NOT NULL,
                current INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
                started REAL NOT NULL, updated REAL NOT NULL,
                PRIMARY KEY (story, viewer)))");
      exec(R"(CREATE TABLE profiles (
                viewer TEXT PRIMARY KEY, model TEXT NOT NULL, updated REAL NOT NULL))");
    }
    // Later versions migrate here: if (version < 3) { ALTER TABLE ... }
    exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    t.commit();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    throw InputError(path_ + ": " + m);
  }
}

void Store::event(const std::string& story_id, std::int64_t passage, const std::string& kind, const json& data,
                  const std::string& viewer) {
  Statement s(db_, "INSERT INTO events (story, passage, kind, data, at, viewer) VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(1, story_id).bind(3, kind).bind(4, data.dump()).bind(5, now());
  if (passage) s.bind(2, passage);
  if (!viewer.empty()) s.bind(6, viewer);
  s.step();
}

std::int64_t Store::current_locked(const Story& st, const std::string& viewer) {
  if (viewer.empty()) return st.current;
  Statement s(db_, "SELECT current FROM playthroughs WHERE story = ? AND viewer = ?");
  s.bind(1, st.id).bind(2, viewer);
  return s.step() ? s.integer(0) : st.root;
}

std::int64_t Store::current(const Story& st, const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  return current_locked(st, viewer);
}

void Store::set_current(const Story& st, const std::string& viewer, std::int64_t node) {
  if (viewer.empty()) {
    Statement(db_, "UPDATE stories SET current = ? WHERE id = ?").bind(1, node).bind(2, st.id).step();
    return;
  }
  const double t = now();
  Statement(db_,
            "INSERT INTO playthroughs (story, viewer, current, started, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (story, viewer) DO UPDATE SET current = excluded.current, updated = excluded.updated")
      .bind(1, st.id)
      .bind(2, viewer)
      .bind(3, node)
      .bind(4, t)
      .bind(5, t)
      .step();
}

json Store::profile_locked(const std::string& viewer) {
  Statement s(db_, "SELECT model FROM profiles WHERE viewer = ?");
  s.bind(1, viewer);
  if (!s.step()) return nullptr;
  json j = json::parse(s.text(0), nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

json Store::profile(const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  return profile_locked(viewer);
}

void Store::save_profile(const std::string& viewer, const json& model) {
  Statement(db_,
            "INSERT INTO profiles (viewer, model, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (viewer) DO UPDATE SET model = excluded.model, updated = excluded.updated")
      .bind(1, viewer)
      .bind(2, model.dump())
      .bind(3, now())
      .step();
}

void Store::touch(const std::string& story_id) {
  Statement(db_, "UPDATE stories SET updated = ? WHERE id = ?").bind(1, now()).bind(2, story_id).step();
}

Story Store::create(const std::string& title, const std::string& premise, const json& controls,
                    const Passage& opening) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  Story st;
  st.id = "st_" + random_hex(8);
  st.title = title;
  st.premise = premise;
  st.ifid = uuid4();
  st.controls = controls;
  st.created = st.updated = now();
  Statement(db_, "INSERT INTO stories (id, title, premise, ifid, controls, created, updated) VALUES (?,?,?,?,?,?,?)")
      .bind(1, st.id)
      .bind(2, title)
      .bind(3, premise)
      .bind(4, st.ifid)
      .bind(5, controls.dump())
      .bind(6, st.created)
      .bind(7, st.updated)
      .step();
  Statement p(db_, "INSERT INTO passages (story, text, tokens, controls, author, created) VALUES (?,?,?,?,?,?)");
  p.bind(1, st.id).bind(2, opening.text).bind(3, opening.tokens).bind(4, opening.controls.dump());
  p.bind(5, opening.author).bind(6, st.created).step();
  st.root = st.current = sqlite3_last_insert_rowid(db_);
  Statement(db_, "UPDATE stories SET root = ?, current = ? WHERE id = ?")
      .bind(1, st.root)
      .bind(2, st.root)
      .bind(3, st.id)
      .step();
  event(st.id, st.root, "create", {{"title", title}, {"controls", controls}});
  t.commit();
  return st;
}

Story Store::story_locked(const std::string& id) {
  Statement s(db_, (std::string("SELECT ") + kStoryColumns + " FROM stories WHERE id = ?").c_str());
  s.bind(1, id);
  if (!s.step()) throw ApiError(404, "no story '" + id + "'", "id", "story_not_found");
  return read_story(s);
}

Story Store::story(const std::string& id) {
  std::lock_guard<std::mutex> l(m_);
  return story_locked(id);
}

std::vector<Passage> Store::passages(const std::string& story_id) {
  std::lock_guard<std::mutex> l(m_);
  story_locked(story_id);
  Statement s(db_, (std::string("SELECT ") + kPassageColumns + " FROM passages WHERE story = ? ORDER BY id").c_str());
  s.bind(1, story_id);
  std::vector<Passage> out;
  while (s.step()) out.push_back(read_passage(s));
  return out;
}

Passage Store::passage_locked(const std::string& story_id, std::int64_t id) {
  Statement s(db_, (std::string("SELECT ") + kPassageColumns + " FROM passages WHERE id = ? AND story = ?").c_str());
  s.bind(1, id).bind(2, story_id);
  if (!s.step()) {
    throw ApiError(404, "story '" + story_id + "' has no passage " + std::to_string(id), "node", "passage_not_found");
  }
  return read_passage(s);
}

Passage Store::passage(const std::string& story_id, std::int64_t id) {
  std::lock_guard<std::mutex> l(m_);
  story_locked(story_id);
  return passage_locked(story_id, id);
}

std::vector<Passage> path_in(const std::vector<Passage>& tree, std::int64_t node) {
  std::unordered_map<std::int64_t, const Passage*> by_id;
  for (const auto& p : tree) by_id[p.id] = &p;
  std::vector<Passage> up;
  for (std::int64_t n = node; n != 0;) {
    const auto it = by_id.find(n);
    if (it == by_id.end()) return {};
    up.push_back(*it->second);
    n = it->second->parent;
  }
  return std::vector<Passage>(up.rbegin(), up.rend());
}

std::vector<Passage> Store::path(const std::string& story_id, std::int64_t node) {
  std::vector<Passage> p = path_in(passages(story_id), node);
  if (p.empty()) {
    throw ApiError(404, "story '" + story_id + "' has no passage " + std::to_string(node), "node", "passage_not_found");
  }
  return p;
}

std::vector<std::int64_t> Store::children_locked(std::int64_t node) {
  Statement s(db_, "SELECT id FROM passages WHERE parent = ? ORDER BY id");
  s.bind(1, node);
  std::vector<std::int64_t> out;
  while (s.step()) out.push_back(s.integer(0));
  return out;
}

std::vector<std::int64_t> Store::children(std::int64_t node) {
  std::lock_guard<std::mutex> l(m_);
  return children_locked(node);
}

std::vector<Story> Store::list(int limit, const std::string& after) {
  std::lock_guard<std::mutex> l(m_);
  std::vector<Story> out;
  const std::string cols = kStoryColumns;
  if (after.empty()) {
    Statement s(db_, ("SELECT " + cols + " FROM stories ORDER BY created DESC, id DESC LIMIT ?").c_str());
    s.bind(1, static_cast<std::int64_t>(limit));
    while (s.step()) out.push_back(read_story(s));
  } else {
    const Story a = story_locked(after);
    Statement s(db_, ("SELECT " + cols +
                      " FROM stories WHERE created < ? OR (created = ? AND id < ?) ORDER BY created DESC, id DESC "
                      "LIMIT ?")
                         .c_str());
    s.bind(1, a.created).bind(2, a.created).bind(3, a.id).bind(4, static_cast<std::int64_t>(limit));
    while (s.step()) out.push_back(read_story(s));
  }
  return out;
}

void Store::remove(const std::string& id) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  story_locked(id);
  Statement(db_, "DELETE FROM stories WHERE id = ?").bind(1, id).step();
  t.commit();
}

void Store::add_passages(const std::string& story_id, std::int64_t parent, std::vector<Passage>& added,
                         const std::string& event_kind, json event_data, bool replace, const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  const Story st = story_locked(story_id);
  passage_locked(story_id, parent);
  if (replace) {
    // The candidates a retry replaces: children of `parent` off the current
    // path, with no passages below them.
    std::vector<std::int64_t> on_path;
    for (std::int64_t n = current_locked(st, viewer); n != 0; n = passage_locked(story_id, n).parent) {
      on_path.push_back(n);
    }
    json replaced = json::array();
    for (std::int64_t c : children_locked(parent)) {
      if (std::find(on_path.begin(), on_path.end(), c) != on_path.end() || !children_locked(c).empty()) continue;
      Statement(db_, "DELETE FROM passages WHERE id = ?").bind(1, c).step();
      replaced.push_back(c);
    }
    event_data["replaced"] = replaced;
  }
  json ids = json::array();
  for (Passage& p : added) {
    p.created = now();
    Statement s(db_,
                "INSERT INTO passages (story, parent, text, tokens, controls, author, created) VALUES (?,?,?,?,?,?,?)");
    s.bind(1, story_id).bind(2, parent).bind(3, p.text).bind(4, p.tokens).bind(5, p.controls.dump());
    s.bind(6, p.author).bind(7, p.created).step();
    p.id = sqlite3_last_insert_rowid(db_);
    p.parent = parent;
    ids.push_back(p.id);
  }
  event_data["passages"] = ids;
  event(story_id, parent, event_kind, event_data, viewer);
  touch(story_id);
  t.commit();
}

void Store::choose(const std::string& story_id, std::int64_t node, const std::string& viewer, const Learn& learn) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  const Story st = story_locked(story_id);
  const Passage p = passage_locked(story_id, node);
  const std::int64_t from = current_locked(st, viewer);
  if (p.parent != from) {
    throw ApiError(409,
                   "passage " + std::to_string(node) + " is not a candidate after the current passage " +
                       std::to_string(from) + "; choose one of its children",
                   "node", "not_a_candidate");
  }
  set_current(st, viewer, node);
  json data = {{"from", from}};
  if (learn) {
    // The candidates shown with it: those of the viewer's latest offer at
    // the parent (a branches, retry or rank event) that hold it, else its
    // siblings from the same generation.
    std::vector<std::int64_t> offer;
    {
      Statement s(db_,
                  "SELECT data FROM events WHERE story = ? AND passage = ? AND viewer IS ? AND kind IN "
                  "('branches', 'retry', 'rank') ORDER BY id DESC LIMIT 1");
      s.bind(1, story_id).bind(2, p.parent);
      if (!viewer.empty()) s.bind(3, viewer);
      if (s.step()) {
        const json d = json_column(s, 0);
        if (d.contains("passages") && d["passages"].is_array()) {
          for (const auto& x : d["passages"])
            if (x.is_number_integer()) offer.push_back(x.get<std::int64_t>());
        }
      }
    }
    if (std::find(offer.begin(), offer.end(), node) == offer.end()) offer.clear();
    std::vector<Passage> shown;
    std::size_t chosen = 0;
    for (std::int64_t c : children_locked(p.parent)) {
      const Passage s = passage_locked(story_id, c);
      const bool in_offer = offer.empty() ? s.controls.value("batch", json()) == p.controls.value("batch", json())
                                          : std::find(offer.begin(), offer.end(), c) != offer.end();
      if (!in_offer) continue;
      if (s.id == node) chosen = shown.size();
      shown.push_back(s);
    }
    json audience = profile_locked(""), mine = viewer.empty() ? json(nullptr) : profile_locked(viewer);
    learn(shown, chosen, audience, mine);
    if (!audience.is_null()) save_profile("", audience);
    if (!viewer.empty() && !mine.is_null()) save_profile(viewer, mine);
    json ids = json::array();
    for (const auto& s : shown) ids.push_back(s.id);
    data["shown"] = ids;
  }
  event(story_id, node, "choose", data, viewer);
  touch(story_id);
  t.commit();
}

std::int64_t Store::undo(const std::string& story_id, const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  const Story st = story_locked(story_id);
  const std::int64_t from = current_locked(st, viewer);
  const Passage p = passage_locked(story_id, from);
  if (p.parent == 0) throw ApiError(409, "the story is at its opening; there is nothing to undo", "", "at_root");
  set_current(st, viewer, p.parent);
  event(story_id, p.parent, "undo", {{"from", from}}, viewer);
  touch(story_id);
  t.commit();
  return p.parent;
}

void Store::edit(const std::string& story_id, std::int64_t node, const std::string& text,
                 const std::vector<int>& tokens) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  const Passage p = passage_locked(story_id, node);
  if (!children_locked(node).empty()) {
    throw ApiError(409,
                   "passage " + std::to_string(node) +
                       " has passages after it; edit a passage without children (undo to it and retry instead)",
                   "node", "has_children");
  }
  Statement(db_, "UPDATE passages SET text = ?, tokens = ?, author = 'human' WHERE id = ?")
      .bind(1, text)
      .bind(2, tokens)
      .bind(3, node)
      .step();
  event(story_id, node, "edit", {{"before", p.text}});
  touch(story_id);
  t.commit();
}

void Store::record(const std::string& story_id, std::int64_t node, const std::string& kind, const json& data,
                   const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  Transaction t(db_);
  story_locked(story_id);
  passage_locked(story_id, node);
  event(story_id, node, kind, data, viewer);
  t.commit();
}

std::vector<Event> Store::events(const std::string& story_id) {
  std::lock_guard<std::mutex> l(m_);
  const std::string sql = std::string("SELECT id, story, passage, kind, data, at, viewer FROM events") +
                          (story_id.empty() ? "" : " WHERE story = ?") + " ORDER BY id";
  Statement s(db_, sql.c_str());
  if (!story_id.empty()) s.bind(1, story_id);
  std::vector<Event> out;
  while (s.step()) {
    Event e;
    e.id = s.integer(0);
    e.story = s.text(1);
    e.passage = s.integer(2);
    e.kind = s.text(3);
    e.data = json::parse(s.text(4), nullptr, false);
    if (e.data.is_discarded()) e.data = nullptr;
    e.at = s.real(5);
    e.viewer = s.text(6);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> Store::story_ids() {
  std::lock_guard<std::mutex> l(m_);
  Statement s(db_, "SELECT id FROM stories ORDER BY created, id");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<std::string> Store::viewer_stories(const std::string& viewer) {
  std::lock_guard<std::mutex> l(m_);
  Statement s(db_, "SELECT story FROM playthroughs WHERE viewer = ? ORDER BY updated DESC, story");
  s.bind(1, viewer);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::int64_t Store::count_events(const std::string& story_id) {
  std::lock_guard<std::mutex> l(m_);
  Statement s(db_, "SELECT count(*) FROM events WHERE story = ?");
  s.bind(1, story_id);
  s.step();
  return s.integer(0);
}

}  // namespace plotforge::stories
