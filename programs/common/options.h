// The option parser both programs share (Boost.Program_options): every
// command takes --help and --config FILE, an INI file whose keys are the
// long option names (top-level keys, or [section] keys for options spelled
// section.key); the command line wins over the file.
//
// Settings structs (base/settings.h) register their fields here, so an
// option's name, default and help are written once, in the struct.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/program_options.hpp>

#include "base/settings.h"

namespace plotforge::programs {

namespace po = boost::program_options;

using Args = std::vector<std::string>;

// Parses args against `options` (plus --help and --config). Returns false if
// --help was given (usage already printed to stdout). Throws po::error on
// bad options and InputError naming the file for an unreadable or bad
// --config file.
bool parse_options(const std::string& usage, po::options_description& options, const Args& args, po::variables_map* vm,
                   po::positional_options_description* positional = nullptr);

// Registers each field of `defaults` as the option prefix + key, with the
// field's current value as its default.
template <class S>
void add_fields(po::options_description& o, const S& defaults, const std::string& prefix = "") {
  for_each_field(defaults, [&](const char* key, const auto& member, const char* help, FieldTraits traits) {
    using T = std::decay_t<decltype(member)>;
    const std::string name = prefix + key;
    if constexpr (std::is_same_v<T, bool>) {
      if (traits.flag) {
        o.add_options()(name.c_str(), po::bool_switch()->default_value(member), help);
        return;
      }
    }
    o.add_options()(name.c_str(), po::value<T>()->default_value(member), help);
  });
}

// Copies the parsed values of the fields registered by add_fields into `s`.
template <class S>
void read_fields(const po::variables_map& vm, S* s, const std::string& prefix = "") {
  for_each_field(*s, [&](const char* key, auto& member, const char*, FieldTraits) {
    using T = std::decay_t<decltype(member)>;
    const auto it = vm.find(prefix + key);
    if (it != vm.end()) member = it->second.template as<T>();
  });
}

}  // namespace plotforge::programs
