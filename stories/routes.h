// The story API under /v1/stories and the web player at "/", added to the
// story server (serving/server.h). docs/stories.md is the reference.
//
// A passage adds to the model's context exactly the tokens it stores: its
// control line ("<scene>" and its beat and emotion) and what was generated
// or written, so continuing a story after a restart recomputes (or finds in
// the prefix cache) the very prefix it had before. Candidates of one node
// are the n branches of one request: they share the node's prefix in the
// KV cache.
#pragma once

#include <memory>
#include <string>

#include "serving/server.h"
#include "stories/store.h"

namespace plotforge::stories {

struct StoryOptions {
  std::string db = "plotforge-stories.db";  // the SQLite file (created; WAL files beside it)

  template <class V>
  void fields(V&& v) {
    v("db", db, "the stories' SQLite database (created if missing)");
  }
};

// Adds the routes to `server` (before it listens); they use `store` and the
// server's engine for as long as this object lives, which must be as long
// as the server serves.
class StoryRoutes {
 public:
  StoryRoutes(serving::Server& server, Store& store);
  ~StoryRoutes();

 private:
  class Api;
  std::unique_ptr<Api> api_;
};

}  // namespace plotforge::stories
