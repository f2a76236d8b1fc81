// The web player's files (stories/player/), compiled into plotforge-run by
// stories/embed.cmake, so the server needs no files beside it and fetches
// nothing from the internet.
#pragma once

#include <cstddef>
#include <vector>

namespace plotforge::stories {

struct PlayerAsset {
  const char* name;          // "index.html", "player.js", "player.css"
  const char* content_type;  // with charset
  const char* data;
  std::size_t size;
};

const std::vector<PlayerAsset>& player_assets();

}  // namespace plotforge::stories
