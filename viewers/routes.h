// What the story server offers a viewer beyond the story they are in:
// GET /v1/viewers/{id}/recommendations?k=10, from a trained recommender
// (plotforge-run serve --recommender RUN; recommendation/recommender.h),
// behind the API key like every /v1 route. docs/recommendation.md
// ("Serving") is the reference.
//
// A viewer in the recommender's training data is served by their own
// vector; a viewer it has not seen, from the stories they have played on
// this server that are in its catalogue (folded in); a viewer with neither,
// by popularity. Items that are stories on this server carry their title.
#pragma once

#include <string>

#include "recommendation/recommender.h"
#include "serving/server.h"
#include "stories/store.h"

namespace plotforge::viewers {

struct ViewerOptions {
  std::string recommender;  // a run of 'plotforge recommend train'; empty: none

  template <class V>
  void fields(V&& v) {
    v("recommender", recommender, "a run of 'plotforge recommend train': serves GET /v1/viewers/{id}/recommendations");
  }
};

// `recommender` may be null: the route then answers 404 saying how to
// start the server with one. Both must outlive the server.
void add_viewer_routes(serving::Server& server, stories::Store& store, const recommendation::Recommender* recommender);

}  // namespace plotforge::viewers
