// The story server's HTTP side (cpp-httplib): OpenAI's completions API,
// /v1/models, /health and /metrics, with API-key auth, body limits, an
// access log, and streaming as Server-Sent Events. docs/serving.md is the
// user's reference; this is how the pieces meet.
//
// The listening socket comes up before the model loads, so /health can say
// 503 "loading" meanwhile; set_engine() makes the server ready.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/settings.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "serving/api_error.h"
#include "serving/engine_loop.h"
#include "serving/metrics.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace plotforge::serving {

struct ServeOptions {
  std::string host = "127.0.0.1";      // loopback unless told otherwise
  int port = 8080;                     // 0: any free port (printed)
  std::string api_key;                 // required as "Authorization: Bearer KEY" on /v1/* when set
  std::string api_key_file;            // the key's first line, so it stays out of `ps`
  std::string model_name;              // the name /v1/models serves; default: the bundle directory's name
  int max_queue = 128;                 // requests waiting for admission; more get 429
  int max_running = 64;                // requests in the batch at once
  long long max_body_bytes = 1 << 20;  // larger bodies get 413
  double shutdown_timeout = 30;        // seconds running requests get to finish on SIGTERM/SIGINT
  double stall_seconds = 30;           // /health calls the engine stuck after a step this long
  bool log_prompts = false;            // access log lines carry the prompt text
  bool prefix_cache = true;            // reuse cached KV blocks of earlier prompts (off: for comparison)

  template <class V>
  void fields(V&& v) {
    v("host", host, "address to bind (loopback by default; 0.0.0.0 exposes the server)");
    v("port", port, "port to listen on (0: any free port)");
    v("api-key", api_key, "require 'Authorization: Bearer KEY' on /v1/* routes");
    v("api-key-file", api_key_file, "read the API key from this file's first line");
    v("model-name", model_name, "model name in the API (default: the bundle directory's name)");
    v("max-queue", max_queue, "requests waiting for a place in the batch; beyond it, 429");
    v("max-running", max_running, "requests decoding in one batch");
    v("max-body-bytes", max_body_bytes, "largest request body; larger gets 413");
    v("shutdown-timeout", shutdown_timeout, "seconds running requests may finish after SIGTERM/SIGINT");
    v("stall-seconds", stall_seconds, "/health reports the engine stuck when a step runs this long");
    v("log-prompts", log_prompts, "write prompt text into the access log", flag());
    v("prefix-cache", prefix_cache, "reuse the KV blocks of earlier prompts (false: compute every prompt in full)");
  }
  // Throws InputError naming the option when a value is out of range; reads
  // api_key_file into api_key.
  void resolve();
};

// Answers with OpenAI's error body (and Retry-After for a 429).
void send_error(httplib::Response& res, const ApiError& e);

class Server {
 public:
  explicit Server(const ServeOptions& options);
  ~Server();
  // Binds host:port; returns the port (the chosen one for port 0). Throws
  // InputError when the address cannot be bound.
  int bind();
  // Serves on the calling thread until stop().
  void listen();
  // The model and the engine loop are ready: /health turns 200. `adapters`
  // are the LoRA adapters served beside the base, by the name a request's
  // `model` field gives (inference/adapter.h).
  using Adapters = std::map<std::string, std::shared_ptr<const runtime::Adapter>>;
  void set_engine(const runtime::Model& model, EngineLoop& loop, const std::string& model_name, Adapters adapters = {});
  // New completion requests get 503 from now on.
  void set_draining();
  void stop();
  Metrics& metrics() { return metrics_; }

  // For the rooms after this one (stories/): the HTTP server to add routes
  // to (before listen(); /v1/* routes get the API-key check), and the model
  // and engine loop once ready (null while loading).
  httplib::Server& http() { return *http_; }
  const runtime::Model* model() const { return model_.load(); }
  EngineLoop* engine() const { return loop_.load(); }
  bool draining() const { return draining_; }

 private:
  struct Routes;
  ServeOptions o_;
  Metrics metrics_;
  std::unique_ptr<httplib::Server> http_;
  int listen_socket_ = -1;  // the socket bind() listens on, to raise its backlog
  std::atomic<const runtime::Model*> model_{nullptr};
  std::atomic<EngineLoop*> loop_{nullptr};
  std::string model_name_;
  Adapters adapters_;
  std::vector<std::string> served_models_;  // model_name_, then the adapters' names
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace plotforge::serving
