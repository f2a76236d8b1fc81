// Reading one field of a request body, strictly: the type the API
// documents and a value in range, or ApiError(400) naming the field.
// JSON integers only where an integer is meant (5.0 is not one).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace plotforge::serving {

[[noreturn]] void bad_field(const std::string& field, const std::string& what);
long long json_integer(const nlohmann::json& v, const std::string& field, long long lo, long long hi);
double json_number(const nlohmann::json& v, const std::string& field);  // finite
bool json_bool(const nlohmann::json& v, const std::string& field);
std::string json_string(const nlohmann::json& v, const std::string& field);
// A URL query parameter's value as an integer in [lo, hi] (all of it: "10x"
// is not one), or ApiError(400) naming the parameter.
long long query_integer(const std::string& value, const std::string& param, long long lo, long long hi);
// The body as a JSON object, or ApiError(400) saying where it is malformed.
nlohmann::json json_body(const std::string& body);

}  // namespace plotforge::serving
