#include "datasets/text_checks.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace plotforge {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
// Rejects overlong forms, surrogates and code points above U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return n;
}

}  // namespace

void check_text(std::string_view text, const std::string& file) {
  long line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      ++i;
      continue;
    }
    if (c == '\0') {
      throw input_error_at(file, line,
                           "NUL byte: this looks like a binary file, not a script; "
                           "pass Fountain, plain-text or JSONL files");
    }
    if (i - line_start >= kMaxLineBytes) {
      throw input_error_at(file, line,
                           "line is longer than " + std::to_string(kMaxLineBytes) +
                               " bytes; a script's lines are short, so check that the "
                               "file is a script and has its newlines");
    }
    const std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      throw input_error_at(file, line,
                           "invalid UTF-8 at byte " + std::to_string(i - line_start + 1) +
                               " of the line; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)");
    }
    i += n;
  }
}

std::string normalize_newlines(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace plotforge
