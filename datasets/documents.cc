#include "datasets/documents.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "datasets/annotations.h"
#include "datasets/fountain.h"
#include "datasets/text_checks.h"

namespace plotforge {

std::string scene_token() { return "<scene>"; }
std::string genre_token(const std::string& genre) { return "<genre=" + genre + ">"; }
std::string beat_token(const std::string& beat) { return "<beat=" + beat + ">"; }
std::string emotion_token(const std::string& emotion) { return "<emotion=" + emotion + ">"; }
std::string valence_token(const std::string& valence) { return "<valence=" + valence + ">"; }
std::string derived_emotion_token(const std::string& emotion) { return "<derived_emotion=" + emotion + ">"; }

std::vector<std::string> derived_label_tokens() {
  std::vector<std::string> out;
  for (const auto& v : valence_vocabulary()) out.push_back(valence_token(v));
  for (const auto& e : emotion_vocabulary()) out.push_back(derived_emotion_token(e));
  return out;
}

std::vector<std::string> control_tokens(const std::vector<std::string>& genres) {
  std::vector<std::string> out = {scene_token()};
  for (const auto& b : beat_vocabulary()) out.push_back(beat_token(b));
  for (const auto& e : emotion_vocabulary()) out.push_back(emotion_token(e));
  for (const auto& t : derived_label_tokens()) out.push_back(t);
  std::vector<std::string> g = genres;
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  for (const auto& x : g) out.push_back(genre_token(x));
  return out;
}

std::string scene_line(const SceneSpan& s) {
  std::string line = scene_token();
  if (s.beat != "none") line += beat_token(s.beat);
  if (s.emotion != "none") line += s.emotion_derived ? derived_emotion_token(s.emotion) : emotion_token(s.emotion);
  if (s.valence != "none") line += valence_token(s.valence);
  return line + "\n";
}

namespace {

std::string genre_line(const std::vector<std::string>& genres) {
  std::string line;
  for (const auto& g : genres) line += genre_token(g);
  return line.empty() ? line : line + "\n";
}

std::string render_range(const Script& script, std::size_t begin, std::size_t end) {
  Script part;
  part.elements.assign(script.elements.begin() + static_cast<std::ptrdiff_t>(begin),
                       script.elements.begin() + static_cast<std::ptrdiff_t>(end));
  RenderOptions options;
  options.title_page = false;
  options.notes = false;
  return render_fountain(part, options);
}

bool has_extension(const std::filesystem::path& p, std::initializer_list<const char*> exts) {
  const std::string e = p.extension().string();
  return std::any_of(exts.begin(), exts.end(), [&](const char* x) { return e == x; });
}

}  // namespace

Document document_from_script(const Script& script) {
  const Annotations ann = annotate(script);
  Document doc;
  doc.source = script.source;
  doc.title = script.title_field("Title");
  if (doc.title.empty()) doc.title = std::filesystem::path(script.source).stem().string();
  std::replace(doc.title.begin(), doc.title.end(), '\n', ' ');
  doc.genres = ann.genres;
  doc.text = genre_line(doc.genres);
  const std::size_t first_scene = ann.scenes.empty() ? script.elements.size() : ann.scenes[0].heading;
  doc.text += render_range(script, 0, first_scene);
  for (const SceneInfo& info : ann.scenes) {
    SceneSpan span;
    span.act = info.act;
    span.beat = info.beat;
    span.emotion = info.emotion;
    // A blank line before each scene, as Fountain separates elements.
    if (!doc.text.empty() &&
        doc.text.compare(doc.text.size() - std::min<std::size_t>(2, doc.text.size()), 2, "\n\n") != 0) {
      doc.text += "\n";
    }
    span.begin = doc.text.size();
    doc.text += scene_line(span);
    doc.text += render_range(script, info.heading, info.end);
    span.end = doc.text.size();
    doc.scenes.push_back(span);
  }
  return doc;
}

std::vector<Document> read_text_file(const std::string& path) {
  const std::string text = normalize_newlines(read_file(path));
  check_text(text, path);
  Document doc;
  doc.source = path;
  doc.title = std::filesystem::path(path).stem().string();
  doc.text = text;
  return {doc};
}

std::vector<Document> read_jsonl_file(const std::string& path) { return parse_jsonl(read_file(path), path); }

std::vector<Document> parse_jsonl(std::string_view raw, const std::string& path) {
  const std::string text = normalize_newlines(raw);
  check_text(text, path);
  std::vector<Document> docs;
  long line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, out_of_range (huge numbers), ...
      throw input_error_at(path, line_no, std::string("invalid JSON: ") + e.what());
    }
    auto field_error = [&](const std::string& field, const std::string& what) {
      return input_error_at(path, line_no, "field '" + field + "': " + what);
    };
    if (!j.is_object()) throw input_error_at(path, line_no, "expected a JSON object per line");
    Document doc;
    doc.source = path + ":" + std::to_string(line_no);
    if (!j.contains("title") || !j["title"].is_string()) throw field_error("title", "missing or not a string");
    doc.title = j["title"].get<std::string>();
    if (j.contains("genre")) {
      const auto& g = j["genre"];
      std::vector<std::string> raw;
      if (g.is_string()) {
        raw.push_back(g.get<std::string>());
      } else if (g.is_array()) {
        for (const auto& x : g) {
          if (!x.is_string()) throw field_error("genre", "list items must be strings");
          raw.push_back(x.get<std::string>());
        }
      } else {
        throw field_error("genre", "must be a string or a list of strings");
      }
      for (const auto& r : raw) {
        std::size_t s = 0;
        while (s <= r.size()) {
          std::size_t c = r.find(',', s);
          if (c == std::string::npos) c = r.size();
          const std::string n = normalize_label(r.substr(s, c - s));
          if (!n.empty()) doc.genres.push_back(n);
          s = c + 1;
        }
      }
    }
    std::string body;
    if (j.contains("text")) {
      if (!j["text"].is_string()) throw field_error("text", "must be a string");
      body = j["text"].get<std::string>();
    }
    doc.text = genre_line(doc.genres) + body;
    if (!body.empty() && body.back() != '\n') doc.text += "\n";
    if (j.contains("beats")) {
      if (!j["beats"].is_array()) throw field_error("beats", "must be a list of {beat, text}");
      for (const auto& b : j["beats"]) {
        if (!b.is_object() || !b.contains("beat") || !b["beat"].is_string() || !b.contains("text") ||
            !b["text"].is_string()) {
          throw field_error("beats", "each item must be an object with string fields 'beat' and 'text'");
        }
        SceneSpan span;
        span.beat = normalize_label(b["beat"].get<std::string>());
        const auto& vocab = beat_vocabulary();
        if (std::find(vocab.begin(), vocab.end(), span.beat) == vocab.end()) {
          throw field_error("beats", "unknown beat '" + span.beat + "' (see docs/annotations.md)");
        }
        if (!doc.text.empty()) doc.text += "\n";
        span.begin = doc.text.size();
        doc.text += scene_line(span) + b["text"].get<std::string>();
        if (doc.text.back() != '\n') doc.text += "\n";
        span.end = doc.text.size();
        doc.scenes.push_back(span);
      }
    } else if (body.empty()) {
      throw field_error("text", "missing: a record needs 'text' or 'beats'");
    }
    check_text(doc.text, doc.source);
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::vector<Document> read_documents(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && has_extension(entry.path(), {".fountain", ".spmd", ".jsonl", ".txt"})) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    std::vector<Document> docs;
    for (const auto& f : files) {
      auto part = read_documents(f.string());
      for (auto& d : part) docs.push_back(std::move(d));
    }
    return docs;
  }
  if (!fs::exists(path, ec)) throw InputError(path + ": no such file or directory");
  const fs::path p(path);
  if (has_extension(p, {".fountain", ".spmd"})) return {document_from_script(read_fountain_file(path))};
  if (has_extension(p, {".jsonl"})) return read_jsonl_file(path);
  return read_text_file(path);
}

std::string strip_control_tokens(const std::string& text) {
  static const char* kPrefixes[] = {"<scene>", "<genre=", "<beat=", "<emotion=", "<valence=", "<derived_emotion="};
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    const bool has_nl = nl != std::string::npos;
    if (!has_nl) nl = text.size();
    std::string line;
    bool had_token = false;
    for (std::size_t i = start; i < nl;) {
      bool matched = false;
      for (const char* p : kPrefixes) {
        const std::string_view pre(p);
        if (text.compare(i, pre.size(), pre) == 0) {
          const std::size_t close = text.find('>', i);
          if (close != std::string::npos && close < nl) {
            i = close + 1;
            matched = had_token = true;
          }
          break;
        }
      }
      if (!matched) line.push_back(text[i++]);
    }
    if (!(had_token && line.find_first_not_of(" \t") == std::string::npos)) {
      out += line;
      if (has_nl) out += "\n";
    }
    start = nl + 1;
  }
  return out;
}

}  // namespace plotforge
