// Errors about input that a user can fix.
//
// Every message names where the problem is (file and line, or HDF5 path) and,
// when it is not obvious, what to do next. The command-line front end prints
// the message and exits non-zero; nothing catches these to carry on silently.
#pragma once

#include <stdexcept>
#include <string>

namespace plotforge {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

// "FILE:LINE: message", the form compilers use, so editors can jump to it.
inline InputError input_error_at(const std::string& file, long line, const std::string& message) {
  return InputError(file + ":" + std::to_string(line) + ": " + message);
}

}  // namespace plotforge
