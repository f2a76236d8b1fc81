// The server's error: an HTTP status and the fields of OpenAI's error body
// {"error": {"message", "type", "param", "code"}}. It is an InputError, so
// code below the server that throws InputError stays as it is; the server
// answers a plain InputError with 400.
#pragma once

#include <string>

#include "base/error.h"

namespace plotforge::serving {

class ApiError : public InputError {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string code = "")
      : InputError(message), status_(status), param_(std::move(param)), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }  // the request field at fault, or ""
  const std::string& code() const { return code_; }
  // OpenAI's error type for the status: invalid_request_error (400, 404,
  // 413), authentication_error (401), rate_limit_error (429), server_error.
  std::string type() const;

 private:
  int status_;
  std::string param_, code_;
};

// The body for an error: {"error": {"message", "type", "param", "code"}},
// param and code null when empty.
std::string error_body(const ApiError& e);

}  // namespace plotforge::serving
