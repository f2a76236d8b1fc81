// A story in the formats writers use.
//
// tree_json: the whole tree, the schema docs/stories.md documents:
//   {"id", "title", "premise", "ifid", "controls", "root", "current",
//    "path": [ids root..current], "created", "updated",
//    "passages": [{"id", "parent" (null for the root), "text", "author",
//                  "controls", "created", "children": [ids]}]}
// twee: Twee 3 (https://github.com/iftechfoundation/twine-specs), which
//   Twine imports: StoryTitle, StoryData (ifid, format, start), one passage
//   per node named "p<ID>", tagged with its genre/beat/emotion, ending with
//   a link [[first words of the child->p<CHILD>]] per child.
// fountain: the current path as a screenplay, one scene per passage (a
//   forced scene heading ".PASSAGE N"), control tokens removed, and lines of
//   the passages that Fountain would read as scene headings forced to action.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stories/store.h"

namespace plotforge::stories {

nlohmann::json tree_json(const Story& story, const std::vector<Passage>& passages);
std::string twee(const Story& story, const std::vector<Passage>& passages);
std::string fountain(const Story& story, const std::vector<Passage>& path);

}  // namespace plotforge::stories
