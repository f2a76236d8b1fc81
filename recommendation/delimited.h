// Reading the recommenders' CSV and TSV files, one way for both readers
// (interactions.h, item_features.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace plotforge::recommendation {

// Tab when the first line holds one, else comma.
char separator_of(std::string_view text);
// The fields of one line, spaces and a trailing CR around each removed.
std::vector<std::string> split_fields(std::string_view line, char sep);
// Calls row(line number, fields) for every line of `text` that is not blank,
// split by separator_of(text).
void for_each_row(std::string_view text, const std::function<void(long, std::vector<std::string>)>& row);
// A whole field as a finite number.
bool parse_number(const std::string& field, double* out);
// The index of `id` in `ids`, appending it when new.
std::int32_t intern(const std::string& id, std::vector<std::string>& ids,
                    std::unordered_map<std::string, std::int32_t>& index);

}  // namespace plotforge::recommendation
