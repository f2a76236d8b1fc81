// Documents: what the readers hand to the tokenizer and the prepared corpus.
//
// A document is one script (or one plain-text file, or one JSONL record)
// rendered to its canonical training text: Fountain without title page or
// notes, in which control tokens stand on lines of their own:
//
//   <genre=tragedy>                       first line, one token per genre
//   # ACT I
//
//   <scene><beat=exposition>              before every scene heading
//   .SCENE I. ELSINORE. A PLATFORM #1.1#
//   ...
//
// With derived labels (datasets/derived_labels.h) the scene line also
// carries <valence=...> and, where no note names the emotion, a
// <derived_emotion=...> token: a derived label never looks like a note's.
//
// Each scene's span in the text starts at its "<scene>" line, so a scene
// sample carries its own labels. strip_control_tokens() turns canonical (or
// generated) text back into plain Fountain.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datasets/script.h"

namespace plotforge {

struct SceneSpan {
  std::size_t begin = 0, end = 0;  // byte offsets into Document::text
  int act = 0;
  std::string beat = "none";
  std::string emotion = "none";  // from a note, or derived when emotion_derived
  std::string valence = "none";  // always derived
  bool emotion_derived = false;
};

struct Document {
  std::string source;  // file path, with ":LINE" for a JSONL record
  std::string title;
  std::vector<std::string> genres;
  std::string text;  // canonical training text
  std::vector<SceneSpan> scenes;
};

// Control tokens. Every one is a single token in the tokenizer.
std::string scene_token();                          // "<scene>"
std::string genre_token(const std::string& genre);  // "<genre=tragedy>"
std::string beat_token(const std::string& beat);    // "<beat=climax>"
std::string emotion_token(const std::string& emotion);
std::string valence_token(const std::string& valence);          // "<valence=negative>"
std::string derived_emotion_token(const std::string& emotion);  // "<derived_emotion=fear>"
// The control tokens a tokenizer is trained with: <scene>, every beat and
// emotion of the vocabularies, the derived-label tokens, and a genre token
// for each name in `genres`.
std::vector<std::string> control_tokens(const std::vector<std::string>& genres);
// The derived-label tokens (valence and derived emotions). Tokenizers
// trained before they existed lack them; such a tokenizer still loads, and
// prepare --label-emotions asks for a retrained one.
std::vector<std::string> derived_label_tokens();
// The scene's control line: "<scene><beat=B>...\n".
std::string scene_line(const SceneSpan& scene);

Document document_from_script(const Script& script);

// Reads one file by its extension: .fountain/.spmd (Fountain), .jsonl (plot
// synopses, one document per line), anything else plain text (one document).
// A directory is read recursively in sorted order.
std::vector<Document> read_documents(const std::string& path);
std::vector<Document> read_text_file(const std::string& path);
std::vector<Document> read_jsonl_file(const std::string& path);
// One JSONL record per line: {"title", "genre" (string or list), "text",
// "beats": [{"beat", "text"}]}; errors name `source` and the line.
std::vector<Document> parse_jsonl(std::string_view text, const std::string& source);

// Removes control tokens; a line holding nothing else disappears.
std::string strip_control_tokens(const std::string& text);

}  // namespace plotforge
