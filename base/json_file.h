// Reading a JSON file that came from outside (a bundle's config.json,
// gan.json): one place for the error a user sees.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace plotforge {

// The file's JSON object. Throws InputError naming the file if it cannot be
// read, is not JSON, or is not an object.
nlohmann::json read_json_object(const std::string& path);

}  // namespace plotforge
