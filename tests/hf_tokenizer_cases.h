// What tests/hf_tokenizer_check.py compares transformers with: plotforge's
// ids for each text, its special tokens and its newline
// (hf_tokenizer_test.cc on trained tokenizers, export_test.cc on a bundle).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/tokenizer.h"

namespace plotforge::testing {

inline nlohmann::json hf_tokenizer_cases(const Tokenizer& tok, const std::vector<std::string>& texts) {
  nlohmann::json cases = {{"texts", nlohmann::json::array()}, {"newline_id", tok.newline_id()}};
  for (const std::string& t : texts) cases["texts"].push_back({{"text", t}, {"ids", tok.encode(t)}});
  std::vector<int> special = {0, 1, tok.eos_id()};  // <unk>, <s> (ids fixed by the trainer), </s>
  for (const auto& [name, id] : tok.control_tokens()) special.push_back(id);
  cases["special_ids"] = special;
  return cases;
}

}  // namespace plotforge::testing
