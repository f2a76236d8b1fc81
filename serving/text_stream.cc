#include "serving/text_stream.h"

#include <algorithm>

namespace plotforge::serving {

std::size_t incomplete_utf8_tail(const std::string& s) {
  // Walk back over at most three continuation bytes to a lead byte.
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(4, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation
    std::size_t need = 1;
    if ((c & 0xE0) == 0xC0)
      need = 2;
    else if ((c & 0xF0) == 0xE0)
      need = 3;
    else if ((c & 0xF8) == 0xF0)
      need = 4;
    return need > back ? back : 0;
  }
  return 0;
}

std::string TextStream::push(int token) {
  ids_.push_back(token);
  std::string before = std::move(text_);
  text_ = tok_.decode(ids_);
  token_offset_ = text_.compare(0, before.size(), before) == 0 ? before.size() : text_.size();
  token_text_ = text_.substr(token_offset_);
  std::size_t safe = text_.size() - incomplete_utf8_tail(text_);
  // A trailing U+FFFD may be a byte-fallback character still arriving.
  static const std::string kReplacement = "\xEF\xBF\xBD";
  while (safe >= kReplacement.size() &&
         text_.compare(safe - kReplacement.size(), kReplacement.size(), kReplacement) == 0) {
    safe -= kReplacement.size();
  }
  // Hold back the longest ending that is a proper prefix of a stop string.
  std::size_t hold = 0;
  for (const auto& s : stop_) {
    // The token that completes a stop string ends the branch; none of the
    // stop string is sent.
    const std::size_t at = text_.find(s, sent_ > s.size() ? sent_ - s.size() : 0);
    if (at != std::string::npos) safe = std::min(safe, at);
    for (std::size_t len = std::min(s.size() - 1, text_.size()); len > hold; --len) {
      if (text_.compare(text_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  safe = std::min(safe, text_.size() - hold);
  if (safe <= sent_) return "";
  std::string out = text_.substr(sent_, safe - sent_);
  sent_ = safe;
  return out;
}

std::string TextStream::finish(const std::string& final_text) {
  if (final_text.size() <= sent_) return "";
  std::string out = final_text.substr(sent_);
  sent_ = final_text.size();
  return out;
}

}  // namespace plotforge::serving
