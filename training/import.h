// plotforge import: a Hugging Face Llama model directory (training/hf_llama.h)
// -> a plotforge run directory that train --init-from, generate, eval and
// export accept:
//   RUN/tokenizer.model                 DIR's, with plotforge's pieces added
//   RUN/checkpoints/step-00000000.pt    the weights, kind "transformer"
//
// plotforge's pieces are the newline control symbol <nl> and the control
// tokens (<scene>, every beat and emotion, the derived labels and one
// <genre=G> per requested genre), appended after DIR's own pieces so every
// existing id keeps its meaning. The embedding (and an untied lm_head)
// grows by as many rows, each starting at the mean of the existing rows.
#pragma once

#include <string>
#include <vector>

namespace plotforge {

struct ImportOptions {
  std::string from;                 // the Hugging Face model directory
  std::string out;                  // the run directory to write
  std::vector<std::string> genres;  // a <genre=G> token for each
  int context = 0;                  // 0: config.json's max_position_embeddings
};

struct ImportResult {
  int vocab_before = 0, vocab_after = 0;
  long long parameters = 0;
  std::string checkpoint;
};

// Throws InputError naming the file and field of anything it cannot read or
// plotforge cannot compute; writes nothing then. An existing run directory
// with checkpoints is refused.
ImportResult import_hf_llama(const ImportOptions& options);

}  // namespace plotforge
