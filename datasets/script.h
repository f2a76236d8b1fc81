// The script model: a script is a title page plus a sequence of typed elements.
//
// This is what every reader produces (Fountain, plain text, JSONL) and what the
// canonical text, the annotations and the prepared corpus are computed from.
// Element text never contains Fountain's forcing markers (".", "!", "@", ">",
// "~", "^"); `forced` records that one was used so the text can be rendered
// back to Fountain that parses to the same elements.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace plotforge {

enum class ElementType {
  kSection,        // "# ACT I"; depth = number of '#'
  kSceneHeading,   // "INT. HOUSE - DAY", optional scene_number from "#1.2#"
  kAction,         // one paragraph; lines joined by '\n', indentation kept
  kCharacter,      // the cue: name in text, "(V.O.) (CONT'D)" in extension
  kParenthetical,  // "(aside)", parentheses included
  kDialogue,       // the lines of one speech run; joined by '\n'
  kLyric,          // "~" lines; joined by '\n'
  kTransition,     // "CUT TO:" or forced "> FADE IN:"
  kCentered,       // "> THE END <"
  kSynopsis,       // "= ..."
  kNote,           // "[[...]]" standing on its own line(s)
  kPageBreak,      // "==="
};

const char* element_type_name(ElementType type);  // "scene_heading", ...

struct Element {
  ElementType type = ElementType::kAction;
  std::string text;
  int line = 0;              // 1-based line in the source file
  int depth = 0;             // sections only
  std::string scene_number;  // scene headings only, without the '#'
  std::string extension;     // character cues only: "(V.O.) (CONT'D)"
  bool dual = false;         // character cues only: '^' dual dialogue
  bool forced = false;       // a forcing marker was used in the source
};

struct Script {
  std::string source;                                           // file name (or "<stdin>"), for messages
  std::vector<std::pair<std::string, std::string>> title_page;  // key, value
  std::vector<Element> elements;

  // The first value of a title-page key (case-insensitive), or "".
  std::string title_field(const std::string& key) const;
};

}  // namespace plotforge
