// Audience analytics from the story server's event log (docs/analytics.md).
//
// Reads the stories database (stories/store.h): every viewer's events in
// order, replayed to follow where each one went. Per passage: visits
// (viewers who reached it), each child's share of the choices made there,
// drop-off (viewers whose last passage is this one / viewers who reached
// it) and the median time on it (the player's dwell reports, else the time
// to the viewer's next move). Per story: viewers, completion rate (viewers
// whose last passage has nothing after it), distinct paths and their
// entropy, and the most travelled path (from the opening, the most chosen
// child at each step) with its funnel. Across stories: the audience's
// preferences by genre, beat, emotion and valence, as the lift of each
// label among chosen candidates over its share among the candidates shown.
//
// A viewer is an audience member once they act (branches, rank, choose,
// undo, dwell); creating a story does not count. Bad rows (an unknown
// passage, unreadable data, a time earlier than the viewer's previous
// event, an exact duplicate, a choice that does not follow the viewer's
// position) are counted under "anomalies" and skipped: they never stop the
// report.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stories/store.h"

namespace plotforge::analytics {

// One story's report, or every story's when `story_id` is "". Throws
// ApiError(404) for an unknown story.
nlohmann::json audience_report(stories::Store& store, const std::string& story_id = "");

}  // namespace plotforge::analytics
