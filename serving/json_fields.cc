#include "serving/json_fields.h"

#include <cmath>

#include "serving/api_error.h"

namespace plotforge::serving {

using nlohmann::json;

void bad_field(const std::string& field, const std::string& what) { throw ApiError(400, field + ": " + what, field); }

long long json_integer(const json& v, const std::string& field, long long lo, long long hi) {
  if (!v.is_number_integer()) bad_field(field, "must be an integer");
  if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi)) {
    bad_field(field, "must be at most " + std::to_string(hi));
  }
  const long long x = v.is_number_unsigned() ? static_cast<long long>(v.get<unsigned long long>()) : v.get<long long>();
  if (x < lo || x > hi) bad_field(field, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

double json_number(const json& v, const std::string& field) {
  if (!v.is_number()) bad_field(field, "must be a number");
  const double x = v.get<double>();
  if (!std::isfinite(x)) bad_field(field, "must be finite");
  return x;
}

bool json_bool(const json& v, const std::string& field) {
  if (!v.is_boolean()) bad_field(field, "must be true or false");
  return v.get<bool>();
}

std::string json_string(const json& v, const std::string& field) {
  if (!v.is_string()) bad_field(field, "must be a string");
  return v.get<std::string>();
}

json json_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    // nlohmann's message names the byte offset ("at line 1, column 7").
    std::string what = e.what();
    const auto at = what.find("] ");
    throw ApiError(400, "the body is not valid JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
  if (!j.is_object()) throw ApiError(400, "the body must be a JSON object");
  return j;
}

long long query_integer(const std::string& value, const std::string& param, long long lo, long long hi) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size() || n < lo || n > hi) {
    bad_field(param, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return n;
}

}  // namespace plotforge::serving
