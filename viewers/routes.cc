#include "viewers/routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "serving/api_error.h"
#include "serving/json_fields.h"
#include "stories/generation_request.h"

namespace plotforge::viewers {

namespace {

using nlohmann::json;

json recommendations(stories::Store& store, const recommendation::Recommender* r, const std::string& viewer,
                     const httplib::Request& q) {
  if (!r) {
    throw serving::ApiError(404,
                            "no recommender: start plotforge-run serve with --recommender RUN "
                            "(a run of 'plotforge recommend train')");
  }
  stories::viewer_field(json{{"viewer", viewer}});  // the same rules as a story request's viewer
  const int k = q.has_param("k") ? static_cast<int>(serving::query_integer(q.get_param_value("k"), "k", 1, 100)) : 10;
  for (const auto& [name, value] : q.params) {
    if (name != "k") serving::bad_field(name, "unknown parameter (k is the only one)");
  }
  const std::vector<std::string> history = store.viewer_stories(viewer);
  const recommendation::Recommendations recs = recommendation::recommend(*r, viewer, history, k);
  json data = json::array();
  for (const auto& x : recs.items) {
    json item = {{"item", x.item}, {"score", x.score}};
    if (x.item.rfind("st_", 0) == 0) {
      try {
        item["title"] = store.story(x.item).title;
      } catch (const serving::ApiError&) {
        // an item named like a story that this server does not hold
      }
    }
    data.push_back(std::move(item));
  }
  return {{"object", "list"}, {"viewer", viewer}, {"source", recs.source}, {"model", r->model}, {"data", data}};
}

}  // namespace

void add_viewer_routes(serving::Server& server, stories::Store& store, const recommendation::Recommender* recommender) {
  server.http().Get("/v1/viewers/([^/]{1,256})/recommendations",
                    [&store, recommender](const httplib::Request& q, httplib::Response& res) {
                      try {
                        const json j = recommendations(store, recommender, q.matches[1], q);
                        res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
                      } catch (const serving::ApiError& e) {
                        serving::send_error(res, e);
                      } catch (const InputError& e) {
                        serving::send_error(res, serving::ApiError(400, e.what()));
                      }
                    });
}

}  // namespace plotforge::viewers
