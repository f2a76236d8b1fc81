#include "recommendation/delimited.h"

#include <cmath>
#include <cstdlib>

namespace plotforge::recommendation {

char separator_of(std::string_view text) {
  return text.substr(0, text.find('\n')).find('\t') != std::string_view::npos ? '\t' : ',';
}

std::vector<std::string> split_fields(std::string_view line, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t cut = line.find(sep, start);
    std::string field(line.substr(start, cut == std::string_view::npos ? std::string_view::npos : cut - start));
    const auto a = field.find_first_not_of(" \r");
    field = a == std::string::npos ? "" : field.substr(a, field.find_last_not_of(" \r") - a + 1);
    out.push_back(std::move(field));
    if (cut == std::string_view::npos) break;
    start = cut + 1;
  }
  return out;
}

void for_each_row(std::string_view text, const std::function<void(long, std::vector<std::string>)>& row) {
  const char sep = separator_of(text);
  std::size_t start = 0;
  long line_no = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    row(line_no, split_fields(line, sep));
  }
}

bool parse_number(const std::string& field, double* out) {
  if (field.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  if (end != field.c_str() + field.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::int32_t intern(const std::string& id, std::vector<std::string>& ids,
                    std::unordered_map<std::string, std::int32_t>& index) {
  const auto [it, added] = index.emplace(id, static_cast<std::int32_t>(ids.size()));
  if (added) ids.push_back(id);
  return it->second;
}

}  // namespace plotforge::recommendation
