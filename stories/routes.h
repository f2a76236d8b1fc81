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

#include "inference/scene_classifier.h"
#include "serving/server.h"
#include "stories/store.h"

namespace plotforge::stories {

struct StoryOptions {
  std::string db = "plotforge-stories.db";  // the SQLite file (created; WAL files beside it)
  // A scene-classifier bundle; empty: none. With one, every candidate also
  // carries the classifier's genre, beat and emotion probabilities as
  // features (docs/personalisation.md), at the cost of one encoder pass per
  // candidate.
  std::string classifier;

  template <class V>
  void fields(V&& v) {
    v("db", db, "the stories' SQLite database (created if missing)");
    v("classifier", classifier,
      "a scene-classifier bundle ('plotforge export' of a classifier run): candidates also carry its genre, beat "
      "and emotion probabilities as features for personalisation");
  }
};

// Adds the routes to `server` (before it listens); they use `store`, the
// server's engine and `classifier` (may be null) for as long as this object
// lives, which must be as long as the server serves.
class StoryRoutes {
 public:
  StoryRoutes(serving::Server& server, Store& store, const runtime::SceneClassifier* classifier = nullptr);
  ~StoryRoutes();

 private:
  class Api;
  std::unique_ptr<Api> api_;
};

}  // namespace plotforge::stories
