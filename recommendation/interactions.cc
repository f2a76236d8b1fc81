#include "recommendation/interactions.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "base/error.h"
#include "base/files.h"
#include "recommendation/delimited.h"

namespace plotforge::recommendation {

namespace {

// A first line of column names: "user,item" and the like (RecBole's
// "user_id:token", MovieLens' "userId", "movieId").
bool header_names(const std::string& user, const std::string& item) {
  auto name = [](std::string s) {
    s = s.substr(0, s.find(':'));
    std::string out;
    for (char c : s) {
      if (c != '_' && c != ' ') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
  };
  static const std::set<std::string> users = {"user", "userid", "viewer", "viewerid"};
  static const std::set<std::string> items = {"item", "itemid", "movie", "movieid", "story", "storyid", "play"};
  return users.count(name(user)) && items.count(name(item));
}

}  // namespace

Interactions parse_interactions(std::string_view text, const std::string& source) {
  Interactions out;
  const char sep = separator_of(text);
  std::set<std::pair<std::int32_t, std::int32_t>> seen;
  for_each_row(text, [&](long line_no, std::vector<std::string> f) {
    if (f.size() < 2 || f.size() > 4) {
      throw input_error_at(source, line_no,
                           "expected user, item[, value[, timestamp]] separated by " +
                               std::string(sep == '\t' ? "tabs" : "commas") + ", got " + std::to_string(f.size()) +
                               " column" + (f.size() == 1 ? "" : "s"));
    }
    double value = 1, time = 0;
    const bool value_ok = f.size() < 3 || parse_number(f[2], &value);
    const bool time_ok = f.size() < 4 || parse_number(f[3], &time);
    if (line_no == 1 && (!value_ok || !time_ok || header_names(f[0], f[1]))) return;  // a header
    if (!value_ok) throw input_error_at(source, line_no, "the value '" + f[2] + "' is not a number");
    if (!time_ok) throw input_error_at(source, line_no, "the timestamp '" + f[3] + "' is not a number");
    if (f[0].empty() || f[1].empty()) throw input_error_at(source, line_no, "empty user or item id");
    Interaction r;
    r.user = intern(f[0], out.users, out.user_index);
    r.item = intern(f[1], out.items, out.item_index);
    r.value = static_cast<float>(value);
    r.time = time;
    r.line = static_cast<std::int32_t>(line_no);
    if (!seen.emplace(r.user, r.item).second) {
      throw input_error_at(source, line_no,
                           "user '" + f[0] + "' and item '" + f[1] + "' appear twice; sum or deduplicate them first");
    }
    out.rows.push_back(r);
  });
  if (out.rows.empty()) throw InputError(source + ": no interactions (expected lines of user, item[, value[, time]])");
  return out;
}

Interactions read_interactions(const std::string& path) { return parse_interactions(read_file(path), path); }

std::vector<Interaction> read_test_split(const std::string& path, const Interactions& train) {
  const Interactions t = read_interactions(path);
  std::set<std::pair<std::int32_t, std::int32_t>> trained;
  for (const auto& r : train.rows) trained.emplace(r.user, r.item);
  std::vector<Interaction> out;
  for (const auto& r : t.rows) {
    const std::string &user = t.users[r.user], &item = t.items[r.item];
    const auto u = train.user_index.find(user);
    if (u == train.user_index.end()) {
      throw input_error_at(path, r.line, "user '" + user + "' is not in the training interactions");
    }
    const auto i = train.item_index.find(item);
    if (i == train.item_index.end()) {
      throw input_error_at(path, r.line, "item '" + item + "' is not in the training interactions or item features");
    }
    if (trained.count({u->second, i->second})) {
      throw input_error_at(path, r.line,
                           "user '" + user + "' and item '" + item + "' are also in the training interactions");
    }
    Interaction x = r;
    x.user = u->second;
    x.item = i->second;
    out.push_back(x);
  }
  return out;
}

}  // namespace plotforge::recommendation
