// Stories kept in SQLite: one file, WAL mode, the schema versioned by
// PRAGMA user_version with a migration per version. A story is a tree of
// passages; every viewer action is also appended to the event table (the
// analytics read it). Writes are transactions: a passage lands with its
// event or not at all, so a crash never leaves a half-written passage or
// an event without its passage.
//
// Viewers: many may play one story. A viewer's position is their own
// playthrough (without a viewer, the story's own `current`, as for a
// single player); their events carry their id, and their choices update
// their taste profile and the audience's (personalisation/profile.h) in
// the choice's transaction.
//
// One connection, used under a mutex: the server's handler threads take
// turns. Every method throws ApiError (404 for an unknown story or
// passage, 409 for an action the tree does not allow) or InputError for a
// database that cannot be opened or is not ours.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace plotforge::stories {

struct Passage {
  std::int64_t id = 0;
  std::int64_t parent = 0;  // 0 for the story's root (its opening)
  std::string text;         // as shown: control tokens removed
  std::vector<int> tokens;  // everything this passage adds to the model's context, controls included
  nlohmann::json controls = nlohmann::json::object();  // genre, beat, emotion, sampling parameters, seed
  std::string author;                                  // "model" or "human"
  double created = 0;                                  // unix seconds
};

// One row of the event log, as stored (analytics reads these).
struct Event {
  std::int64_t id = 0;
  std::string story;
  std::int64_t passage = 0;  // 0 when none
  std::string kind;          // create, branches, retry, rank, choose, undo, edit, dwell
  nlohmann::json data;       // null when the stored text is not JSON
  double at = 0;             // unix seconds
  std::string viewer;        // "" for the story's own player
};

struct Story {
  std::string id;
  std::string title, premise, ifid;                    // ifid: Twine's story id (a UUID)
  nlohmann::json controls = nlohmann::json::object();  // defaults for new passages
  std::int64_t root = 0, current = 0;
  double created = 0, updated = 0;
};

// The passages of `tree` (one story's) from its root to `node`; empty when
// `node` is not among them.
std::vector<Passage> path_in(const std::vector<Passage>& tree, std::int64_t node);

class Store {
 public:
  // 2 added viewers: events.viewer, playthroughs, profiles.
  static constexpr int kSchemaVersion = 2;
  // Opens (creating, unless `create` is false) the database and brings its
  // schema up to date. A missing file with `create` false is an InputError.
  explicit Store(const std::string& path, bool create = true);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A new story with its opening passage (root and current); event "create".
  Story create(const std::string& title, const std::string& premise, const nlohmann::json& controls,
               const Passage& opening);
  Story story(const std::string& id);
  std::vector<Passage> passages(const std::string& story_id);     // the whole tree, by id
  Passage passage(const std::string& story_id, std::int64_t id);  // 404 when not in this story
  // The passages from the root to `node`, read in one query; 404 when the
  // story has no such passage.
  std::vector<Passage> path(const std::string& story_id, std::int64_t node);
  std::vector<std::int64_t> children(std::int64_t node);
  // Stories by creation, newest first, after the one named `after` ("" from the start).
  std::vector<Story> list(int limit, const std::string& after);
  void remove(const std::string& id);

  // New passages under `parent`, with the event (kind and data), in one
  // transaction; fills in their ids. With `replace`, the parent's children
  // not on the current path and without children of their own go first
  // (retry).
  void add_passages(const std::string& story_id, std::int64_t parent, std::vector<Passage>& added,
                    const std::string& event_kind, nlohmann::json event_data, bool replace = false,
                    const std::string& viewer = "");
  // What a choice teaches: `shown` are the candidates the chosen one was
  // offered with (the viewer's latest offer at its parent: a branches,
  // retry or rank event listing it; else its siblings from the same
  // generation), `audience` and
  // `viewer` the stored profiles (null when there is none yet), to update
  // in place. Runs inside choose()'s transaction.
  using Learn = std::function<void(const std::vector<Passage>& shown, std::size_t chosen, nlohmann::json& audience,
                                   nlohmann::json& viewer)>;
  // The current passage (the viewer's, or the story's without one) becomes
  // `node`, which must be a child of it.
  void choose(const std::string& story_id, std::int64_t node, const std::string& viewer = "",
              const Learn& learn = nullptr);
  // The current passage becomes its parent; returns it.
  std::int64_t undo(const std::string& story_id, const std::string& viewer = "");
  // The viewer's current passage: the story's own without a viewer, the
  // story's root for a viewer who has not chosen yet.
  std::int64_t current(const Story& story, const std::string& viewer);
  // A stored profile ("" is the audience's), or null.
  nlohmann::json profile(const std::string& viewer);
  // A writer's text for a passage without children.
  void edit(const std::string& story_id, std::int64_t node, const std::string& text, const std::vector<int>& tokens);
  // An event with no change to the tree (the player's "dwell").
  void record(const std::string& story_id, std::int64_t node, const std::string& kind, const nlohmann::json& data,
              const std::string& viewer = "");
  std::int64_t count_events(const std::string& story_id);
  // The story's events by id (every story's when `story_id` is ""),
  // including rows that name passages or stories that no longer exist.
  std::vector<Event> events(const std::string& story_id);
  std::vector<std::string> story_ids();
  // The stories `viewer` has played (has a playthrough of), most recent first.
  std::vector<std::string> viewer_stories(const std::string& viewer);

 private:
  void exec(const char* sql);
  void event(const std::string& story_id, std::int64_t passage, const std::string& kind, const nlohmann::json& data,
             const std::string& viewer = "");
  std::int64_t current_locked(const Story& story, const std::string& viewer);
  void set_current(const Story& story, const std::string& viewer, std::int64_t node);
  nlohmann::json profile_locked(const std::string& viewer);
  void save_profile(const std::string& viewer, const nlohmann::json& model);
  void touch(const std::string& story_id);
  Story story_locked(const std::string& id);
  Passage passage_locked(const std::string& story_id, std::int64_t id);
  std::vector<std::int64_t> children_locked(std::int64_t node);

  std::mutex m_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace plotforge::stories
