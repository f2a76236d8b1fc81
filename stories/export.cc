#include "stories/export.h"

#include <map>

#include "base/error.h"
#include "datasets/fountain.h"

namespace plotforge::stories {

using nlohmann::json;

namespace {

std::map<std::int64_t, std::vector<std::int64_t>> children_of(const std::vector<Passage>& passages) {
  std::map<std::int64_t, std::vector<std::int64_t>> c;
  for (const auto& p : passages) {
    if (p.parent) c[p.parent].push_back(p.id);
  }
  return c;
}

// Twee tags may not hold spaces; labels are lower-case words with '_' already.
std::string tag(const std::string& kind, const json& controls) {
  if (!controls.contains(kind) || !controls[kind].is_string() || controls[kind].get<std::string>().empty()) return "";
  std::string v = kind + "-" + controls[kind].get<std::string>();
  for (char& c : v) {
    if (c == ' ' || c == '[' || c == ']') c = '_';
  }
  return v;
}

// Passage text may not start a line with "::" (a passage header) nor hold
// "[[" (a link); both are escaped with a backslash as Twee 3 allows.
std::string twee_text(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (line_start && c == ':' && i + 1 < text.size() && text[i + 1] == ':') out += '\\';
    if ((c == '[' || c == ']') && i + 1 < text.size() && text[i + 1] == c) out += '\\';
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// The link text: the child's first words, on one line, without link syntax.
std::string link_label(const std::string& text, std::int64_t id) {
  std::string s;
  for (char c : text) {
    if (s.size() >= 48) break;
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == '[' || c == ']' || c == '|') continue;
    if (c == '-' || c == '<') c = ' ';  // "->" and "<-" would split the link
    if (c == ' ' && (s.empty() || s.back() == ' ')) continue;
    s += c;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.empty() ? "passage " + std::to_string(id) : s;
}

}  // namespace

json tree_json(const Story& story, const std::vector<Passage>& passages) {
  const auto children = children_of(passages);
  std::vector<std::int64_t> path;
  for (const auto& p : path_in(passages, story.current)) path.push_back(p.id);
  json ps = json::array();
  for (const auto& p : passages) {
    const auto it = children.find(p.id);
    ps.push_back({{"id", p.id},
                  {"parent", p.parent ? json(p.parent) : json(nullptr)},
                  {"text", p.text},
                  {"author", p.author},
                  {"controls", p.controls},
                  {"created", p.created},
                  {"children", it == children.end() ? std::vector<std::int64_t>{} : it->second}});
  }
  return {{"id", story.id},
          {"title", story.title},
          {"premise", story.premise},
          {"ifid", story.ifid},
          {"controls", story.controls},
          {"root", story.root},
          {"current", story.current},
          {"path", path},
          {"created", story.created},
          {"updated", story.updated},
          {"passages", ps}};
}

std::string twee(const Story& story, const std::vector<Passage>& passages) {
  const auto children = children_of(passages);
  std::map<std::int64_t, const Passage*> by_id;
  for (const auto& p : passages) by_id[p.id] = &p;
  std::string out = ":: StoryTitle\n" + (story.title.empty() ? std::string("Untitled") : story.title) + "\n\n";
  const json data = {{"ifid", story.ifid},
                     {"format", "Harlowe"},
                     {"format-version", "3.3.8"},
                     {"start", "p" + std::to_string(story.root)},
                     {"zoom", 1}};
  out += ":: StoryData\n" + data.dump(2) + "\n\n";
  for (const auto& p : passages) {
    std::string tags;
    for (const char* kind : {"genre", "beat", "emotion"}) {
      const std::string t = tag(kind, p.controls);
      if (!t.empty()) tags += (tags.empty() ? "" : " ") + t;
    }
    out += ":: p" + std::to_string(p.id) + (tags.empty() ? "" : " [" + tags + "]") + "\n";
    out += twee_text(p.text);
    if (!p.text.empty() && p.text.back() != '\n') out += "\n";
    const auto it = children.find(p.id);
    if (it != children.end()) {
      out += "\n";
      for (std::int64_t c : it->second) {
        out += "[[" + link_label(by_id.at(c)->text, c) + "->p" + std::to_string(c) + "]]\n";
      }
    }
    out += "\n";
  }
  return out;
}

std::string fountain(const Story& story, const std::vector<Passage>& path) {
  Script s;
  s.source = story.id;
  s.title_page = {{"Title", story.title.empty() ? "Untitled" : story.title},
                  {"Credit", "Generated with plotforge"},
                  {"Draft date", story.id}};
  for (std::size_t i = 0; i < path.size(); ++i) {
    Element heading;
    heading.type = ElementType::kSceneHeading;
    heading.text = "PASSAGE " + std::to_string(i + 1);
    heading.forced = true;
    s.elements.push_back(heading);
    // The passage's own text as Fountain, read after a blank line (so no
    // title page); any scene heading it holds becomes action, keeping one
    // scene per passage. Text Fountain cannot read stays as plain action.
    std::vector<Element> body;
    try {
      for (Element e : parse_fountain("\n" + path[i].text, story.id).elements) {
        if (e.type == ElementType::kSceneHeading) {
          e.type = ElementType::kAction;
          e.forced = true;
        }
        body.push_back(std::move(e));
      }
    } catch (const InputError&) {
      Element a;
      a.type = ElementType::kAction;
      a.text = path[i].text;
      a.forced = true;
      body = {a};
    }
    s.elements.insert(s.elements.end(), body.begin(), body.end());
  }
  RenderOptions o;
  o.notes = false;
  return render_fountain(s, o);
}

}  // namespace plotforge::stories
