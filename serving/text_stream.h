// Streaming a branch's text a token at a time. Each new token's text is
// the difference of two decodes, held back while it could still change:
// an incomplete UTF-8 sequence (a byte-fallback character split over
// tokens) and any ending that could be the start of a stop string (the
// stop string itself is never sent). finish() sends the rest of the final
// text, so what a client concatenates equals the non-streamed text.
#pragma once

#include <string>
#include <vector>

#include "datasets/tokenizer.h"

namespace plotforge::serving {

class TextStream {
 public:
  TextStream(const Tokenizer& tok, const std::vector<std::string>& stop) : tok_(tok), stop_(stop) {}
  // Adds a generated token; returns the text that is now safe to send.
  std::string push(int token);
  // The text not sent yet, given the branch's final text (cut at a stop
  // string where one matched).
  std::string finish(const std::string& final_text);
  // The last pushed token's own text and its offset in the branch's text
  // (OpenAI's logprobs.tokens and text_offset).
  const std::string& token_text() const { return token_text_; }
  std::size_t token_offset() const { return token_offset_; }

 private:
  const Tokenizer& tok_;
  std::vector<std::string> stop_;
  std::vector<int> ids_;
  std::string text_, token_text_;
  std::size_t sent_ = 0, token_offset_ = 0;
};

// Bytes at the end of `s` that start a UTF-8 sequence not yet complete.
std::size_t incomplete_utf8_tail(const std::string& s);

}  // namespace plotforge::serving
