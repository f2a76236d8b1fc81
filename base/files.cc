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

}  // namespace plotforge
