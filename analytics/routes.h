// The analytics API, added to the story server (behind its API key, like
// every /v1 route): GET /v1/analytics (every story) and
// GET /v1/analytics/stories/{id} (one), the report of analytics/report.h.
#pragma once

#include "serving/server.h"
#include "stories/store.h"

namespace plotforge::analytics {

void add_analytics_routes(serving::Server& server, stories::Store& store);

}  // namespace plotforge::analytics
