// Reading files and option values: the small helpers every reader shares.
#pragma once

#include <string>
#include <vector>

namespace plotforge {

// Reads a whole file. Throws InputError naming the path if it cannot be
// opened or read.
std::string read_file(const std::string& path);

// "a, b,,c" -> {"a", "b", "c"}: comma-separated words, spaces trimmed, empty
// ones dropped.
std::vector<std::string> split_list(const std::string& text);

// "0.7,1.0,1.3" -> {0.7, 1.0, 1.3}. Throws InputError naming `option` and
// the piece that is not a number.
std::vector<float> parse_float_list(const std::string& text, const std::string& option);

// "1,8,32" -> {1, 8, 32}: whole numbers of at least `min`. Throws InputError
// naming `option` and the piece that is not one.
std::vector<int> parse_int_list(const std::string& text, const std::string& option, int min = 1);

}  // namespace plotforge
