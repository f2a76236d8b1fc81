#include "recommendation/item_features.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "base/error.h"
#include "base/files.h"
#include "recommendation/delimited.h"

namespace plotforge::recommendation {

ItemFeatures parse_item_features(std::string_view text, const std::string& source, Interactions& data) {
  std::vector<std::string> header;
  std::vector<std::pair<long, std::vector<std::string>>> rows;
  for_each_row(text, [&](long line_no, std::vector<std::string> f) {
    if (header.empty()) {
      if (f.size() < 2) throw input_error_at(source, line_no, "the header needs an item column and a feature column");
      header = std::move(f);
      return;
    }
    if (f.size() != header.size()) {
      throw input_error_at(
          source, line_no,
          "expected " + std::to_string(header.size()) + " columns as the header has, got " + std::to_string(f.size()));
    }
    if (f[0].empty()) throw input_error_at(source, line_no, "empty item id");
    rows.emplace_back(line_no, std::move(f));
  });
  if (rows.empty()) throw InputError(source + ": no item rows (expected a header line, then item, features...)");
  std::set<std::string> seen;
  for (const auto& [line, f] : rows) {
    if (!seen.insert(f[0]).second) throw input_error_at(source, line, "item '" + f[0] + "' is listed twice");
  }
  // Column kinds, then the dimensions.
  ItemFeatures out;
  struct Column {
    bool numeric = true;
    double mean = 0, sd = 0;
    std::map<std::string, std::size_t> categories;  // value -> dimension
    std::size_t dim = 0;                            // numeric: its dimension
  };
  std::vector<Column> cols(header.size());
  for (std::size_t c = 1; c < header.size(); ++c) {
    double v;
    for (const auto& [line, f] : rows) cols[c].numeric = cols[c].numeric && parse_number(f[c], &v);
    if (cols[c].numeric) {
      double sum = 0, sq = 0;
      for (const auto& [line, f] : rows) {
        parse_number(f[c], &v);
        sum += v;
        sq += v * v;
      }
      const double n = static_cast<double>(rows.size());
      cols[c].mean = sum / n;
      cols[c].sd = std::sqrt(std::max(0.0, sq / n - cols[c].mean * cols[c].mean));
      cols[c].dim = out.names.size();
      out.names.push_back(header[c]);
    } else {
      std::set<std::string> values;
      for (const auto& [line, f] : rows) {
        std::size_t s = 0;
        while (s <= f[c].size()) {
          std::size_t bar = f[c].find('|', s);
          if (bar == std::string::npos) bar = f[c].size();
          if (bar > s) values.insert(f[c].substr(s, bar - s));
          s = bar + 1;
        }
      }
      for (const auto& value : values) {
        cols[c].categories[value] = out.names.size();
        out.names.push_back(header[c] + "=" + value);
      }
    }
  }
  for (const auto& [line, f] : rows) {
    intern(f[0], data.items, data.item_index);
  }
  out.vectors.assign(data.items.size(), std::vector<float>(out.names.size(), 0.f));
  for (const auto& [line, f] : rows) {
    std::vector<float>& x = out.vectors[data.item_index.at(f[0])];
    for (std::size_t c = 1; c < header.size(); ++c) {
      if (cols[c].numeric) {
        double v;
        parse_number(f[c], &v);
        x[cols[c].dim] = cols[c].sd > 0 ? static_cast<float>((v - cols[c].mean) / cols[c].sd) : 0.f;
      } else {
        std::size_t s = 0;
        while (s <= f[c].size()) {
          std::size_t bar = f[c].find('|', s);
          if (bar == std::string::npos) bar = f[c].size();
          if (bar > s) x[cols[c].categories.at(f[c].substr(s, bar - s))] = 1.f;
          s = bar + 1;
        }
      }
    }
  }
  return out;
}

ItemFeatures read_item_features(const std::string& path, Interactions& data) {
  return parse_item_features(read_file(path), path, data);
}

}  // namespace plotforge::recommendation
