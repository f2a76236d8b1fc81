// sha256 digests (OpenSSL), which tie a corpus, a checkpoint and a bundle
// to the exact tokenizer file they were made with.
#pragma once

#include <string>
#include <string_view>

namespace plotforge {

// Lower-case hex sha256 of `bytes`, or of a file's bytes (InputError naming
// the path if unreadable).
std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::string& path);

}  // namespace plotforge
