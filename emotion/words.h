// How the emotion scorers see words: ASCII punctuation (Python's
// string.punctuation, which VADER strips) and ASCII lower case (the
// lexicons are ASCII).
#pragma once

#include <string>
#include <string_view>

namespace plotforge::emotion {

inline bool is_punctuation(unsigned char c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

// `token` without the punctuation at either end.
inline std::string_view strip_punctuation(std::string_view token) {
  std::size_t a = 0, b = token.size();
  while (a < b && is_punctuation(static_cast<unsigned char>(token[a]))) ++a;
  while (b > a && is_punctuation(static_cast<unsigned char>(token[b - 1]))) --b;
  return token.substr(a, b - a);
}

inline void ascii_lower(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

}  // namespace plotforge::emotion
