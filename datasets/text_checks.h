// Checks every reader applies to outside text before parsing it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/files.h"  // read_file, for the readers that check what they read

namespace plotforge {

// Longest line a reader accepts. Scripts have short lines; a multi-megabyte
// line means the file is not a script (or has lost its newlines).
constexpr std::size_t kMaxLineBytes = 1 << 20;

// Throws InputError naming `file` and the line when `text` is not a script's
// text: a NUL byte (binary file), invalid UTF-8, or a line over kMaxLineBytes.
void check_text(std::string_view text, const std::string& file);

// Drops a leading UTF-8 byte-order mark and turns CRLF and lone CR into LF.
std::string normalize_newlines(std::string_view text);

}  // namespace plotforge
