// plotforge export --format gguf: a Transformer run as one GGUF file of
// llama.cpp's "llama" architecture (base/gguf.h is the container), laid out
// as llama.cpp's own convert_hf_to_gguf.py lays out a Llama:
//
//   general.architecture "llama", general.name, general.file_type,
//   llama.{context_length, embedding_length, block_count,
//   feed_forward_length, rope.dimension_count, rope.freq_base,
//   attention.head_count, attention.head_count_kv,
//   attention.layer_norm_rms_epsilon, vocab_size};
//   tokenizer.ggml.{model "llama", tokens, scores, token_type (SentencePiece's
//   piece types), bos/eos/unknown_token_id, add_bos_token false,
//   add_eos_token false, add_space_prefix (the model's dummy prefix)}.
//   Tensors token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v,
//   attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output
//   (written even when tied, as transformers' GGUF loader wants it), with
//   attn_q and attn_k rows permuted from Hugging Face's rotate-half order
//   to llama.cpp's interleaved one.
//
// dtype f32 | f16 | bf16 | q8_0 applies to the matrices; norms stay f32,
// and a q8_0 matrix whose rows are not a multiple of 32 is written f16 (both
// as the converter does). A LoRA run is written merged. plotforge's control
// tokens (<genre=...>, <scene>, ...) are CONTROL pieces, as llama.cpp's
// converter makes the bundle's special tokens (datasets/hf_tokenizer.h); a
// newline is the byte piece <0x0A>, as llama.cpp encodes "\n" (a tokenizer
// from before 2026-12-02 has its own <nl> instead: datasets/tokenizer.h).
#pragma once

#include <string>

namespace plotforge {

// Throws InputError naming the checkpoint, the dtype or the output path.
void export_gguf(const std::string& checkpoint, const std::string& out, const std::string& dtype);

}  // namespace plotforge
