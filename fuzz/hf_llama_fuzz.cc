// libFuzzer target: the JSON files of a Hugging Face Llama directory as
// `plotforge import` reads them (models/hf_llama_files.h): any input, as
// config.json or as model.safetensors.index.json, must give a configuration
// or a weight map, or throw InputError. The index is resolved against a
// scratch directory holding one shard, so names that exist are reached too.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "models/hf_llama_files.h"

namespace {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / ("hf_llama_fuzz." + std::to_string(::getpid()));
    fs::create_directories(d);
    std::ofstream(d / "model-00001-of-00001.safetensors") << "shard";
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const plotforge::TransformerConfig c = plotforge::hf_llama_config_from_json(j, "config.json");
    (void)c.hidden();
  } catch (const plotforge::InputError&) {
  }
  try {
    const auto map = plotforge::hf_weight_map_from_index(j, "model.safetensors.index.json", scratch_dir());
    if (map.empty()) std::abort();  // an accepted index names at least one tensor
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
