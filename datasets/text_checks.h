// Checks every reader applies to outside text before parsing it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace plotforge {

// Longest line a reader accepts. Scripts have short lines; a multi-megabyte
// line means the file is not a script (or has lost its newlines).
constexpr std::size_t kMaxLineBytes = 1 << 20;

// Throws InputError naming `file` and the line when `text` is not a script's
// text: a NUL byte (binary file), invalid UTF-8, or a line over kMaxLineBytes.
void check_text(std::string_view text, const std::string& file);

// Reads a whole file. Throws InputError if it cannot be opened or read.
std::string read_file(const std::string& path);

// "0.7,1.0,1.3" -> {0.7, 1.0, 1.3}. Throws InputError naming `option` and
// the piece that is not a whole number.
std::vector<float> parse_float_list(const std::string& text, const std::string& option);

// Drops a leading UTF-8 byte-order mark and turns CRLF and lone CR into LF.
std::string normalize_newlines(std::string_view text);

}  // namespace plotforge
