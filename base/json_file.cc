#include "base/json_file.h"

#include "base/error.h"
#include "base/files.h"

namespace plotforge {

nlohmann::json read_json_object(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw InputError(path + ": not a JSON object");
  return j;
}

}  // namespace plotforge
