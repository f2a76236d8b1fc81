// One declaration per setting.
//
// A settings struct declares each member with its default, as usual, and
// lists every member once in a `fields` function: the key (the INI key and,
// behind the struct's prefix, the long option: [vae] latent = 32 in a file,
// --vae.latent 32 on a command line), the member and a line of help:
//
//   struct VAESettings {
//     int latent = 32;
//     double beta_max = 1.0;
//     template <class V> void fields(V&& v) {
//       v("latent", latent, "latent dimensions");
//       v("beta_max", beta_max, "KL weight after each cycle's ramp");
//     }
//   };
//
// That list is the only place a setting is spelled. The command-line and INI
// options (programs/common/options.h), the copy out of the parsed options,
// the JSON kept in checkpoints and bundles (to_json / from_json here) and
// the fields of an exported config.json (Field::hf) are all driven by it, so
// adding a setting is one member and one line plus the code that uses it.
//
// A field's fourth argument, when present, says more about it:
//   hf("hidden_size")  its name in a Hugging Face config.json;
//   flag()             a bool given as a bare switch (--resume), not --x true.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace plotforge {

// What a field declares beyond key, member and help.
struct FieldTraits {
  const char* hf = nullptr;  // Hugging Face config.json name
  bool flag = false;         // bool option given as a bare switch
};
inline FieldTraits hf(const char* name) { return FieldTraits{name, false}; }
inline FieldTraits flag() { return FieldTraits{nullptr, true}; }

// Calls f(key, member, help, traits) for each field of `s` (const or not).
template <class S, class F>
void for_each_field(S& s, F&& f) {
  using Plain = std::remove_const_t<S>;
  Plain& m = const_cast<Plain&>(s);  // fields() is one list for reading and writing
  m.fields(
      [&](const char* key, auto& member, const char* help, FieldTraits traits = {}) { f(key, member, help, traits); });
}

// The fields' values as a JSON object, keyed by field key.
template <class S>
nlohmann::json to_json(const S& s) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(s, [&](const char* key, const auto& member, const char*, FieldTraits) { j[key] = member; });
  return j;
}

namespace settings_detail {

// Whether `v` has T's type and a value T can hold: an integer past T's
// range, or a number past float's, is refused rather than wrapped or
// overflowed by the conversion.
template <class T>
bool json_fits(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    }
    if (!v.is_number_integer()) return false;
    const std::int64_t x = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      return x >= 0;
    } else {
      return x >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
             x <= static_cast<std::int64_t>(std::numeric_limits<T>::max());
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return false;
    const double x = v.get<double>();
    return std::isfinite(x) && std::fabs(x) <= static_cast<double>(std::numeric_limits<T>::max());
  } else {
    return v.is_string();
  }
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer in range";
  else if constexpr (std::is_floating_point_v<T>)
    return "a finite number in range";
  else
    return "a string";
}

}  // namespace settings_detail

// Reads the fields present in `j` into `s`; keys that are not fields are left
// for the caller. An absent field keeps its value (a setting added later
// reads its default from an older file), or, with require_all, is an error.
// Throws InputError naming `where` and the field when a value is missing or
// has the wrong type.
template <class S>
void from_json(const nlohmann::json& j, S* s, const std::string& where, bool require_all = false) {
  if (!j.is_object()) throw InputError(where + ": not a JSON object");
  for_each_field(*s, [&](const char* key, auto& member, const char*, FieldTraits) {
    using T = std::decay_t<decltype(member)>;
    const auto it = j.find(key);
    if (it == j.end()) {
      if (require_all) throw InputError(where + ": field '" + key + "' is missing");
      return;
    }
    if (!settings_detail::json_fits<T>(*it)) {
      throw InputError(where + ": field '" + key + "' must be " + settings_detail::type_name<T>() + ", not " +
                       it->dump());
    }
    member = it->template get<T>();
  });
}

}  // namespace plotforge
