// Fountain 1.1 reader and writer (https://fountain.io/syntax).
//
// parse_fountain() turns a screenplay into the script model. It implements the
// whole syntax: title page (keys with indented multi-line values), scene
// headings (INT/EXT/EST/I/E or forced with '.', scene numbers "#1.2#"),
// action (forced with '!'), character cues (all caps or forced with '@',
// extensions such as "(V.O.)" and "(CONT'D)", dual dialogue '^'),
// parentheticals, dialogue (a line of exactly two spaces keeps a speech
// going), lyrics '~', transitions ("... TO:" or forced '>'), centered text
// "> x <", sections '#', synopses '=', notes "[[ ]]" and boneyard "/* */"
// (both may span lines), page breaks "===". Emphasis markers stay in the text.
// CRLF, lone CR and a UTF-8 byte-order mark are accepted.
//
// Notes that stand on their own line(s) become kNote elements in place; notes
// inside another element's line are cut out of its text and emitted as kNote
// elements just before it. Boneyard is removed entirely.
//
// Throws InputError (naming `source` and the line) on invalid UTF-8, NUL
// bytes, over-long lines, an unterminated note or boneyard.
#pragma once

#include <string>
#include <string_view>

#include "datasets/script.h"

namespace plotforge {

Script parse_fountain(std::string_view text, const std::string& source);
Script read_fountain_file(const std::string& path);

struct RenderOptions {
  bool title_page = true;  // emit the title page
  bool notes = true;       // emit kNote elements
};

// Writes the script back as Fountain. For scripts without notes inside a
// speech, parse_fountain(render_fountain(s)) has the same elements as s
// (types, text, depth, scene numbers, cue extensions, dual flags).
std::string render_fountain(const Script& script, const RenderOptions& options = {});

// True if the line looks like a scene heading without forcing: INT, EXT, EST,
// INT./EXT, INT/EXT or I/E followed by '.' or a space (case-insensitive).
bool looks_like_scene_heading(std::string_view line);

}  // namespace plotforge
