#include "datasets/fountain.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "base/error.h"
#include "datasets/text_checks.h"

namespace plotforge {

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::kSection:
      return "section";
    case ElementType::kSceneHeading:
      return "scene_heading";
    case ElementType::kAction:
      return "action";
    case ElementType::kCharacter:
      return "character";
    case ElementType::kParenthetical:
      return "parenthetical";
    case ElementType::kDialogue:
      return "dialogue";
    case ElementType::kLyric:
      return "lyric";
    case ElementType::kTransition:
      return "transition";
    case ElementType::kCentered:
      return "centered";
    case ElementType::kSynopsis:
      return "synopsis";
    case ElementType::kNote:
      return "note";
    case ElementType::kPageBreak:
      return "page_break";
  }
  return "unknown";
}

std::string Script::title_field(const std::string& key) const {
  for (const auto& [k, v] : title_page) {
    if (k.size() == key.size() && std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

namespace {

// Notes are cut out of the text before line parsing and replaced by a marker
// that cannot occur in checked input: NUL, the note's index, NUL.
constexpr char kNoteMark = '\0';

struct Line {
  std::string text;
  int number;  // 1-based line in the source
};

struct Note {
  std::string text;
  int line;
};

std::string_view trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

bool is_upper_text(std::string_view s) {
  bool letter = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::islower(u)) return false;
    if (std::isupper(u)) letter = true;
  }
  return letter;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Removes boneyard and cuts out notes, splitting into lines that remember
// their source line numbers.
void split_lines(const std::string& text, const std::string& source, std::vector<Line>* lines,
                 std::vector<Note>* notes) {
  Line cur{"", 1};
  int line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const int open_line = line;
      const std::size_t end = text.find("*/", i + 2);
      if (end == std::string::npos) {
        throw input_error_at(source, open_line, "unterminated boneyard: '/*' has no closing '*/'");
      }
      line += static_cast<int>(std::count(text.begin() + i, text.begin() + end, '\n'));
      i = end + 2;
      continue;
    }
    if (c == '[' && i + 1 < n && text[i + 1] == '[') {
      const int open_line = line;
      const std::size_t end = text.find("]]", i + 2);
      if (end == std::string::npos) {
        throw input_error_at(source, open_line, "unterminated note: '[[' has no closing ']]'");
      }
      std::string body = text.substr(i + 2, end - i - 2);
      line += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
      std::replace(body.begin(), body.end(), '\n', ' ');
      cur.text.push_back(kNoteMark);
      cur.text += std::to_string(notes->size());
      cur.text.push_back(kNoteMark);
      notes->push_back({std::string(trim(body)), open_line});
      i = end + 2;
      continue;
    }
    if (c == '\n') {
      lines->push_back(std::move(cur));
      ++line;
      cur = Line{"", line};
      ++i;
      continue;
    }
    cur.text.push_back(c);
    ++i;
  }
  lines->push_back(std::move(cur));
}

// Splits `line` into its text without note markers and the notes it held.
std::string take_notes(const std::string& line, std::vector<int>* note_ids) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == kNoteMark) {
      const std::size_t end = line.find(kNoteMark, i + 1);
      note_ids->push_back(std::stoi(line.substr(i + 1, end - i - 1)));
      i = end;
    } else {
      out.push_back(line[i]);
    }
  }
  return out;
}

bool is_title_key_line(std::string_view line) {
  if (line.empty() || !std::isalpha(static_cast<unsigned char>(line[0]))) return false;
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (!(std::isalnum(c) || c == ' ' || c == '_' || c == '-')) return false;
  }
  return true;
}

bool is_indented(std::string_view line) { return starts_with(line, "\t") || starts_with(line, "   "); }

class Parser {
 public:
  Parser(std::vector<Line> lines, std::vector<Note> notes, Script* script)
      : lines_(std::move(lines)), notes_(std::move(notes)), script_(script) {}

  void run() {
    std::size_t i = parse_title_page();
    bool prev_blank = true;
    while (i < lines_.size()) {
      const Line& ln = lines_[i];
      std::vector<int> ids;
      const std::string text = take_notes(ln.text, &ids);
      const std::string_view t = trim(text);
      if (t.empty()) {
        emit_notes(ids);
        // A line that held only notes is transparent: it neither separates
        // nor joins the elements around it.
        if (ids.empty()) prev_blank = true;
        ++i;
        continue;
      }
      emit_notes(ids);
      i = parse_element(i, text, prev_blank);
      prev_blank = false;
    }
  }

 private:
  bool blank_at(std::size_t i) const {
    if (i >= lines_.size()) return true;
    std::vector<int> ids;
    return trim(take_notes(lines_[i].text, &ids)).empty() && ids.empty();
  }

  // Line i without its notes. The notes are emitted unless this is an
  // element's first line, whose notes run() has already emitted.
  std::string clean(std::size_t i, bool first_line = false) {
    std::vector<int> ids;
    std::string s = take_notes(lines_[i].text, &ids);
    if (!first_line) emit_notes(ids);
    return s;
  }

  void emit_notes(const std::vector<int>& ids) {
    for (int id : ids) {
      Element e;
      e.type = ElementType::kNote;
      e.text = notes_[id].text;
      e.line = notes_[id].line;
      script_->elements.push_back(std::move(e));
    }
  }

  void add(ElementType type, std::string text, int line, bool forced = false) {
    Element e;
    e.type = type;
    e.text = std::move(text);
    e.line = line;
    e.forced = forced;
    script_->elements.push_back(std::move(e));
  }

  std::size_t parse_title_page() {
    if (lines_.empty() || !is_title_key_line(lines_[0].text)) return 0;
    std::size_t i = 0;
    auto& tp = script_->title_page;
    while (i < lines_.size() && !trim(lines_[i].text).empty()) {
      std::vector<int> ids;
      const std::string s = take_notes(lines_[i].text, &ids);
      emit_notes(ids);
      if (is_indented(s) && !tp.empty()) {
        std::string& v = tp.back().second;
        if (!v.empty()) v.push_back('\n');
        v += std::string(trim(s));
      } else if (is_title_key_line(s)) {
        const std::size_t colon = s.find(':');
        tp.emplace_back(std::string(trim(std::string_view(s).substr(0, colon))),
                        std::string(trim(std::string_view(s).substr(colon + 1))));
      } else if (!tp.empty()) {
        std::string& v = tp.back().second;
        if (!v.empty()) v.push_back('\n');
        v += std::string(trim(s));
      }
      ++i;
    }
    return i;
  }

  // Parses the element starting at non-blank line i; returns the next line.
  std::size_t parse_element(std::size_t i, const std::string& text, bool prev_blank) {
    const int number = lines_[i].number;
    const std::string_view t = trim(text);

    if (t.size() >= 3 && t.find_first_not_of('=') == std::string_view::npos) {
      add(ElementType::kPageBreak, "", number);
      return i + 1;
    }
    if (t[0] == '#') {
      const std::size_t depth = t.find_first_not_of('#');
      Element e;
      e.type = ElementType::kSection;
      e.depth = static_cast<int>(depth == std::string_view::npos ? t.size() : depth);
      e.text = std::string(trim(t.substr(std::min(t.size(), static_cast<std::size_t>(e.depth)))));
      e.line = number;
      script_->elements.push_back(std::move(e));
      return i + 1;
    }
    if (t[0] == '=') {
      add(ElementType::kSynopsis, std::string(trim(t.substr(1))), number);
      return i + 1;
    }
    if (t[0] == '>' && t.size() > 1 && t.back() == '<') {
      add(ElementType::kCentered, std::string(trim(t.substr(1, t.size() - 2))), number);
      return i + 1;
    }
    if (t[0] == '>') {
      add(ElementType::kTransition, std::string(trim(t.substr(1))), number, true);
      return i + 1;
    }
    if (t[0] == '.' && t.size() > 1 && t[1] != '.') {
      add_scene_heading(std::string(trim(t.substr(1))), number, true);
      return i + 1;
    }
    if (t[0] == '~') return parse_lyrics(i);
    if (t[0] == '!') return parse_action(i, true);
    if (prev_blank && blank_at(i + 1) && looks_like_scene_heading(t)) {
      add_scene_heading(std::string(t), number, false);
      return i + 1;
    }
    if (prev_blank && blank_at(i + 1) && is_upper_text(t) && ends_with(t, "TO:")) {
      add(ElementType::kTransition, std::string(t), number);
      return i + 1;
    }
    if (prev_blank && !blank_at(i + 1)) {
      if (t[0] == '@') return parse_speech(i, std::string(trim(t.substr(1))), true);
      std::string_view name = t;
      if (!name.empty() && name.back() == '^') name = trim(name.substr(0, name.size() - 1));
      const std::size_t paren = name.find('(');
      if (is_upper_text(trim(name.substr(0, paren))) && paren != 0) {
        return parse_speech(i, std::string(t), false);
      }
    }
    return parse_action(i, false);
  }

  void add_scene_heading(std::string text, int line, bool forced) {
    Element e;
    e.type = ElementType::kSceneHeading;
    e.line = line;
    e.forced = forced;
    // A trailing "#1.2#" is the scene number.
    std::string_view t = trim(text);
    if (t.size() >= 2 && t.back() == '#') {
      const std::size_t open = t.rfind('#', t.size() - 2);
      if (open != std::string_view::npos && open + 1 < t.size() - 1) {
        const std::string_view num = t.substr(open + 1, t.size() - open - 2);
        if (num.find_first_of(" \t") == std::string_view::npos) {
          e.scene_number = std::string(num);
          t = trim(t.substr(0, open));
        }
      }
    }
    e.text = std::string(t);
    script_->elements.push_back(std::move(e));
  }

  std::size_t parse_lyrics(std::size_t i) {
    const int number = lines_[i].number;
    const std::size_t start = i;
    std::string body;
    while (i < lines_.size() && !blank_at(i)) {
      const std::string s = clean(i, i == start);
      const std::string_view t = trim(s);
      if (t.empty() || t[0] != '~') break;
      if (!body.empty()) body.push_back('\n');
      body += std::string(t.substr(1));
      ++i;
    }
    add(ElementType::kLyric, std::move(body), number, true);
    return i;
  }

  std::size_t parse_action(std::size_t i, bool forced) {
    const int number = lines_[i].number;
    std::string body;
    bool first = true;
    while (i < lines_.size() && !blank_at(i)) {
      std::string s = clean(i, first);
      if (first && forced) {
        const std::size_t bang = s.find('!');
        s.erase(0, bang + 1);
      }
      if (trim(s).empty() && !first) {
        ++i;
        continue;  // a line that held only a note
      }
      if (!first) body.push_back('\n');
      // Trailing whitespace carries no meaning in Fountain.
      std::size_t e = s.size();
      while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
      body.append(s, 0, e);
      first = false;
      ++i;
    }
    add(ElementType::kAction, std::move(body), number, forced);
    return i;
  }

  std::size_t parse_speech(std::size_t i, std::string cue, bool forced) {
    Element c;
    c.type = ElementType::kCharacter;
    c.line = lines_[i].number;
    c.forced = forced;
    std::string_view t = trim(cue);
    if (!t.empty() && t.back() == '^') {
      c.dual = true;
      t = trim(t.substr(0, t.size() - 1));
    }
    const std::size_t paren = t.find('(');
    if (paren != std::string_view::npos) {
      c.extension = std::string(trim(t.substr(paren)));
      t = trim(t.substr(0, paren));
    }
    c.text = std::string(t);
    script_->elements.push_back(std::move(c));
    ++i;

    std::string dialogue;
    int dialogue_line = 0;
    auto flush = [&] {
      if (dialogue_line != 0) add(ElementType::kDialogue, std::move(dialogue), dialogue_line);
      dialogue.clear();
      dialogue_line = 0;
    };
    while (i < lines_.size()) {
      const bool two_spaces = lines_[i].text == "  ";
      if (!two_spaces && blank_at(i)) break;
      const std::string s = clean(i);
      const std::string_view d = trim(s);
      if (!two_spaces && d.empty()) {
        ++i;
        continue;  // a line that held only a note
      }
      if (!two_spaces && d.front() == '(' && d.back() == ')') {
        flush();
        add(ElementType::kParenthetical, std::string(d), lines_[i].number);
      } else {
        if (dialogue_line == 0) {
          dialogue_line = lines_[i].number;
        } else {
          dialogue.push_back('\n');
        }
        dialogue += std::string(d);
      }
      ++i;
    }
    flush();
    return i;
  }

  std::vector<Line> lines_;
  std::vector<Note> notes_;
  Script* script_;
};

bool needs_forced_action(std::string_view first_line, bool multi_line) {
  const std::string_view t = trim(first_line);
  if (t.empty()) return false;
  if (std::string_view(".!@#=~>").find(t[0]) != std::string_view::npos) return true;
  if (looks_like_scene_heading(t)) return true;
  std::string_view name = t;
  if (name.back() == '^') name = name.substr(0, name.size() - 1);
  const std::size_t paren = name.find('(');
  if (paren != 0 && is_upper_text(trim(name.substr(0, paren))) && (multi_line || ends_with(t, "TO:"))) {
    return true;
  }
  return false;
}

}  // namespace

bool looks_like_scene_heading(std::string_view line) {
  std::string up;
  for (std::size_t i = 0; i < std::min<std::size_t>(line.size(), 9); ++i) {
    up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(line[i]))));
  }
  for (const char* p : {"INT./EXT", "INT/EXT", "I/E", "INT", "EXT", "EST"}) {
    const std::string_view pre(p);
    if (starts_with(up, pre) && up.size() > pre.size() && (up[pre.size()] == '.' || up[pre.size()] == ' ')) {
      return true;
    }
  }
  return false;
}

Script parse_fountain(std::string_view raw, const std::string& source) {
  const std::string text = normalize_newlines(raw);
  check_text(text, source);
  std::vector<Line> lines;
  std::vector<Note> notes;
  split_lines(text, source, &lines, &notes);
  Script script;
  script.source = source;
  Parser(std::move(lines), std::move(notes), &script).run();
  return script;
}

Script read_fountain_file(const std::string& path) { return parse_fountain(read_file(path), path); }

std::string render_fountain(const Script& script, const RenderOptions& options) {
  std::string out;
  if (options.title_page && !script.title_page.empty()) {
    for (const auto& [key, value] : script.title_page) {
      out += key + ":";
      if (value.find('\n') == std::string::npos) {
        if (!value.empty()) out += " " + value;
        out += "\n";
      } else {
        out += "\n";
        std::size_t start = 0;
        while (start <= value.size()) {
          const std::size_t nl = value.find('\n', start);
          out += "\t" + value.substr(start, nl - start) + "\n";
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
      }
    }
    out += "\n";
  }
  bool in_speech = false;
  bool first = true;
  for (const Element& e : script.elements) {
    if (e.type == ElementType::kNote && !options.notes) continue;
    const bool speech_part = e.type == ElementType::kDialogue || e.type == ElementType::kParenthetical;
    if (!(speech_part && in_speech) && !first) out += "\n";
    first = false;
    in_speech = e.type == ElementType::kCharacter || (speech_part && in_speech);
    switch (e.type) {
      case ElementType::kSection:
        out += std::string(static_cast<std::size_t>(std::max(e.depth, 1)), '#') + " " + e.text + "\n";
        break;
      case ElementType::kSceneHeading:
        out += (e.forced || !looks_like_scene_heading(e.text) ? "." : "") + e.text;
        if (!e.scene_number.empty()) out += " #" + e.scene_number + "#";
        out += "\n";
        break;
      case ElementType::kAction: {
        const std::size_t nl = e.text.find('\n');
        const bool force = e.forced || needs_forced_action(e.text.substr(0, nl), nl != std::string::npos);
        out += (force ? "!" : "") + e.text + "\n";
        break;
      }
      case ElementType::kCharacter: {
        const bool force = e.forced || !is_upper_text(e.text);
        out += (force ? "@" : "") + e.text;
        if (!e.extension.empty()) out += " " + e.extension;
        if (e.dual) out += " ^";
        out += "\n";
        break;
      }
      case ElementType::kParenthetical:
        out += e.text + "\n";
        break;
      case ElementType::kDialogue: {
        std::size_t start = 0;
        while (true) {
          const std::size_t nl = e.text.find('\n', start);
          const std::string ln = e.text.substr(start, nl - start);
          out += (ln.empty() ? std::string("  ") : ln) + "\n";
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
        break;
      }
      case ElementType::kLyric: {
        std::size_t start = 0;
        while (true) {
          const std::size_t nl = e.text.find('\n', start);
          out += "~" + e.text.substr(start, nl - start) + "\n";
          if (nl == std::string::npos) break;
          start = nl + 1;
        }
        break;
      }
      case ElementType::kTransition: {
        const bool plain = !e.forced && is_upper_text(e.text) && ends_with(e.text, "TO:");
        out += (plain ? "" : "> ") + e.text + "\n";
        break;
      }
      case ElementType::kCentered:
        out += "> " + e.text + " <\n";
        break;
      case ElementType::kSynopsis:
        out += "= " + e.text + "\n";
        break;
      case ElementType::kNote:
        out += "[[" + e.text + "]]\n";
        break;
      case ElementType::kPageBreak:
        out += "===\n";
        break;
    }
  }
  return out;
}

}  // namespace plotforge
