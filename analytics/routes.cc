#include "analytics/routes.h"

#include <httplib.h>

#include "analytics/report.h"
#include "base/error.h"
#include "serving/api_error.h"

namespace plotforge::analytics {

namespace {

template <class F>
void answer(httplib::Response& res, F&& report) {
  try {
    res.set_content(report().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
  } catch (const serving::ApiError& e) {
    serving::send_error(res, e);
  } catch (const InputError& e) {
    serving::send_error(res, serving::ApiError(400, e.what()));
  }
}

}  // namespace

void add_analytics_routes(serving::Server& server, stories::Store& store) {
  httplib::Server& h = server.http();
  h.Get("/v1/analytics",
        [&store](const httplib::Request&, httplib::Response& r) { answer(r, [&] { return audience_report(store); }); });
  h.Get("/v1/analytics/stories/(st_[0-9a-f]{1,32})", [&store](const httplib::Request& q, httplib::Response& r) {
    answer(r, [&] { return audience_report(store, q.matches[1]); });
  });
}

}  // namespace plotforge::analytics
