#include "base/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace plotforge {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in && errno == ENOENT) throw InputError(path + ": no such file; check the path");
  if (!in) {
    throw InputError(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read failed");
  return ss.str();
}

std::vector<float> parse_float_list(const std::string& text, const std::string& option) {
  std::vector<float> out;
  std::stringstream in(text);
  for (std::string piece; std::getline(in, piece, ',');) {
    std::size_t used = 0;
    try {
      out.push_back(std::stof(piece, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != piece.size()) {
      throw InputError(option + ": '" + piece + "' is not a number; give comma-separated numbers like 0.7,1.0");
    }
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string piece; std::getline(in, piece, ',');) {
    const auto b = piece.find_first_not_of(" \t"), e = piece.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(piece.substr(b, e - b + 1));
  }
  return out;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& option, int min) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string piece; std::getline(in, piece, ',');) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(piece, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != piece.size() || v < min || v > (1L << 30)) {
      throw InputError(option + ": '" + piece + "' is not a whole number of at least " + std::to_string(min) +
                       "; give comma-separated numbers like 1,8,32");
    }
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) throw InputError(option + ": give at least one number, like 1,8,32");
  return out;
}

}  // namespace plotforge
