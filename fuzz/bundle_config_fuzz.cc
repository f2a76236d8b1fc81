// libFuzzer target: a bundle's config.json and gan.json as the runtime reads
// them (models/config.h's Hugging Face fields, the VAE's settings, the GAN's
// shape, through base/settings.h). Any input must parse or throw InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/settings.h"
#include "models/config.h"
#include "training/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return 0;
  try {
    const plotforge::TransformerConfig c = plotforge::from_hf_llama_json(j, "config.json");
    (void)c.hidden();
  } catch (const plotforge::InputError&) {
  }
  try {
    plotforge::VAESettings v;
    plotforge::from_json(j, &v, "config.json plotforge");
  } catch (const plotforge::InputError&) {
  }
  try {
    plotforge::GANConfig g;
    plotforge::from_json(j, &g, "gan.json", /*require_all=*/true);
  } catch (const plotforge::InputError&) {
  }
  return 0;
}
