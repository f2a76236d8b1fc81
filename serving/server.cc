#include "serving/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "serving/api_error.h"
#include "serving/completion_request.h"
#include "serving/text_stream.h"

namespace plotforge::serving {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Compares in time that depends on the lengths only, not on where they differ.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

std::string openai_finish_reason(const std::string& r) {
  if (r == "eos" || r == "stop") return "stop";
  if (r == "length" || r == "context") return "length";
  return r;  // "abort"
}

// What the access log line reports; the handler fills it on the thread the
// logger later runs on (httplib handles a request on one thread).
struct AccessInfo {
  Clock::time_point start;
  std::string id, prompt;
  long long prompt_tokens = -1, completion_tokens = -1;
  double ttft = -1;
};
thread_local AccessInfo access;

// The logprobs object of one choice: per token its text, log-probability,
// alternatives and offset in the choice's text.
struct LogprobsBuilder {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
  void add(const Tokenizer& tok, const TextStream& text, std::size_t base_offset, float logprob,
           const std::vector<std::pair<int, float>>& alternatives, bool with_top) {
    tokens.push_back(text.token_text());
    token_logprobs.push_back(logprob);
    offsets.push_back(base_offset + text.token_offset());
    if (with_top) {
      json alt = json::object();
      for (const auto& [id, lp] : alternatives) alt[tok.decode({id})] = lp;
      top.push_back(std::move(alt));
    }
  }
  json take(bool with_top) {
    json j = {{"tokens", std::move(tokens)},
              {"token_logprobs", std::move(token_logprobs)},
              {"top_logprobs", with_top ? std::move(top) : json(nullptr)},
              {"text_offset", std::move(offsets)}};
    tokens = json::array();
    token_logprobs = json::array();
    top = json::array();
    offsets = json::array();
    return j;
  }
};

// The finish reason a whole request is counted under: abort before length
// before stop.
std::string request_reason(const std::vector<std::string>& reasons) {
  std::string r = "stop";
  for (const auto& x : reasons) {
    if (x == "abort") return "abort";
    if (x == "length") r = "length";
  }
  return r;
}

}  // namespace

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status();
  if (e.status() == 429) res.set_header("Retry-After", "1");
  res.set_content(error_body(e), "application/json");
}

void ServeOptions::resolve() {
  if (port < 0 || port > 65535) throw InputError("--port: must be in [0, 65535]");
  if (max_queue < 1) throw InputError("--max-queue: must be at least 1");
  if (max_running < 1) throw InputError("--max-running: must be at least 1");
  if (max_body_bytes < 64) throw InputError("--max-body-bytes: must be at least 64");
  if (!(shutdown_timeout >= 0)) throw InputError("--shutdown-timeout: must be >= 0");
  if (!(stall_seconds > 0)) throw InputError("--stall-seconds: must be > 0");
  if (!api_key.empty() && !api_key_file.empty()) throw InputError("give one of --api-key and --api-key-file");
  if (!api_key_file.empty()) {
    std::ifstream f(api_key_file);
    if (!f) throw InputError(api_key_file + ": cannot read the API key file");
    std::getline(f, api_key);
    while (!api_key.empty() && (api_key.back() == '\r' || api_key.back() == ' ')) api_key.pop_back();
    if (api_key.empty()) throw InputError(api_key_file + ": line 1: the API key is empty");
  }
}

struct Server::Routes {
  Server& s;

  const runtime::Model& model() const { return *s.model_.load(); }

  bool ready(httplib::Response& res) const {
    if (s.loop_.load()) return true;
    send_error(res, ApiError(503, "the model is still loading; retry when /health says ok"));
    return false;
  }

  void health(const httplib::Request&, httplib::Response& res) const {
    std::string reason;
    if (!s.loop_.load())
      reason = "loading the model";
    else if (s.draining_)
      reason = "shutting down";
    else
      reason = s.loop_.load()->health();
    res.status = reason.empty() ? 200 : 503;
    res.set_content(dump(reason.empty() ? json{{"status", "ok"}} : json{{"status", "unavailable"}, {"reason", reason}}),
                    "application/json");
  }

  void models(const httplib::Request&, httplib::Response& res) const {
    if (!ready(res)) return;
    json m = {{"id", s.model_name_},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "plotforge"},
              {"root", model().dir()},
              {"parent", nullptr},
              {"max_model_len", model().config().context}};
    json data = json::array({m});
    // LoRA adapters as vLLM lists them: their own id, the base as parent.
    for (const auto& [name, adapter] : s.adapters_) {
      data.push_back({{"id", name},
                      {"object", "model"},
                      {"created", 0},
                      {"owned_by", "plotforge"},
                      {"root", adapter->dir()},
                      {"parent", s.model_name_},
                      {"max_model_len", model().config().context}});
    }
    res.set_content(dump({{"object", "list"}, {"data", data}}), "application/json");
  }

  void completions(const httplib::Request& req, httplib::Response& res) const {
    const auto arrival = Clock::now();
    const std::string id = "cmpl-" + std::to_string(s.next_id_++);
    access.id = id;
    res.set_header("X-Request-Id", id);
    CompletionRequest cr;
    std::vector<std::shared_ptr<Request>> requests;
    try {
      if (!ready(res)) {
        s.metrics_.request_failed("error");
        return;
      }
      if (s.draining_) throw ApiError(503, "the server is shutting down");
      std::random_device rd;
      cr = parse_completion_request(req.body, model().tokenizer(), s.served_models_, model().config().context,
                                    (static_cast<std::uint64_t>(rd()) << 31) ^ rd());
      if (cr.model.empty()) cr.model = s.model_name_;
      const auto adapter = s.adapters_.find(cr.model);
      if (s.o_.log_prompts) {
        for (const auto& p : cr.prompt_texts) access.prompt += p;
      }
      requests = s.loop_.load()->submit(cr.prompts, cr.params, arrival,
                                        adapter == s.adapters_.end() ? nullptr : adapter->second);
    } catch (const ApiError& e) {
      s.metrics_.request_failed(e.status() == 429 ? "queue_full" : e.status() == 503 ? "shutting_down" : "invalid");
      send_error(res, e);
      return;
    } catch (const InputError& e) {
      s.metrics_.request_failed("invalid");
      send_error(res, ApiError(400, e.what()));
      return;
    }
    long long prompt_tokens = 0;
    for (const auto& r : requests) prompt_tokens += r->prompt_tokens();
    access.prompt_tokens = prompt_tokens;
    const std::time_t created = std::time(nullptr);
    if (cr.stream) {
      stream(res, id, created, std::move(cr), std::move(requests), prompt_tokens);
    } else {
      whole(res, id, created, cr, requests, prompt_tokens);
    }
  }

  // Non-streaming: wait for every branch, then answer once. (httplib 0.11
  // does not tell a handler that its client left, so such a request runs to
  // its max_tokens.)
  void whole(httplib::Response& res, const std::string& id, std::time_t created, const CompletionRequest& cr,
             const std::vector<std::shared_ptr<Request>>& requests, long long prompt_tokens) const {
    const Tokenizer& tok = model().tokenizer();
    json choices = json::array();
    long long completion_tokens = 0;
    std::vector<std::string> reasons;
    std::string error;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      Progress done;
      for (;;) {
        Progress p = requests[i]->wait(std::chrono::milliseconds(200));
        if (!p.error.empty()) error = p.error;
        if (p.finished) {
          done = std::move(p);
          break;
        }
      }
      if (!done.error.empty()) error = done.error;
      for (std::size_t b = 0; b < done.completions.size(); ++b) {
        const Completion& c = done.completions[b];
        completion_tokens += static_cast<long long>(c.tokens.size());
        json lp = nullptr;
        if (cr.params.logprobs) {
          TextStream text(tok, {});
          LogprobsBuilder builder;
          for (std::size_t t = 0; t < c.tokens.size(); ++t) {
            text.push(c.tokens[t]);
            builder.add(tok, text, 0, t < c.logprobs.size() ? c.logprobs[t] : 0.f,
                        t < c.top_logprobs.size() ? c.top_logprobs[t] : std::vector<std::pair<int, float>>{},
                        cr.params.top_logprobs > 0);
          }
          lp = builder.take(cr.params.top_logprobs > 0);
        }
        reasons.push_back(openai_finish_reason(c.finish_reason));
        choices.push_back({{"index", i * cr.params.n + b},
                           {"text", (cr.echo ? cr.prompt_texts[i] : "") + c.text},
                           {"logprobs", lp},
                           {"finish_reason", reasons.back()}});
      }
      if (access.ttft < 0) access.ttft = requests[i]->ttft();
    }
    access.completion_tokens = completion_tokens;
    if (!error.empty()) {
      s.metrics_.request_failed("error");
      send_error(res, ApiError(500, "generation failed: " + error));
      return;
    }
    s.metrics_.request_succeeded(request_reason(reasons));
    json body = {{"id", id},
                 {"object", "text_completion"},
                 {"created", created},
                 {"model", cr.model},
                 {"choices", choices},
                 {"usage",
                  {{"prompt_tokens", prompt_tokens},
                   {"completion_tokens", completion_tokens},
                   {"total_tokens", prompt_tokens + completion_tokens}}}};
    res.set_content(dump(body), "application/json");
  }

  // Streaming: one SSE chunk per token per choice, as they are sampled; a
  // last chunk per choice with its finish reason; the usage chunk when
  // asked; then [DONE]. A failed write means the client left: every branch
  // is cancelled and leaves the batch before the engine's next step.
  void stream(httplib::Response& res, const std::string& id, std::time_t created, CompletionRequest cr,
              std::vector<std::shared_ptr<Request>> requests, long long prompt_tokens) const {
    auto state = std::make_shared<std::vector<std::shared_ptr<Request>>>(std::move(requests));
    auto request = std::make_shared<CompletionRequest>(std::move(cr));
    Server* server = &s;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [server, state, request, id, created, prompt_tokens](std::size_t, httplib::DataSink& sink) {
          const CompletionRequest& cr = *request;
          const Tokenizer& tok = server->model_.load()->tokenizer();
          const int n = cr.params.n;
          const bool with_top = cr.params.top_logprobs > 0;
          auto chunk = [&](json choices, json usage, bool with_usage) {
            json j = {{"id", id},
                      {"object", "text_completion"},
                      {"created", created},
                      {"model", cr.model},
                      {"choices", std::move(choices)}};
            if (with_usage) j["usage"] = std::move(usage);
            const std::string line = "data: " + dump(j) + "\n\n";
            return sink.write(line.data(), line.size());
          };
          auto choice = [&](std::size_t index, const std::string& text, json logprobs, json finish) {
            return json{{"index", index}, {"text", text}, {"logprobs", std::move(logprobs)}, {"finish_reason", finish}};
          };
          auto cancel_all = [&] {
            for (auto& r : *state) r->cancel();
          };
          long long completion_tokens = 0;
          std::vector<std::string> reasons;
          bool ok = true;
          if (cr.echo) {
            for (std::size_t i = 0; ok && i < state->size(); ++i)
              for (int b = 0; ok && b < n; ++b)
                ok = chunk(json::array({choice(i * n + b, cr.prompt_texts[i], nullptr, nullptr)}), nullptr,
                           cr.include_usage);
          }
          std::string error;
          for (std::size_t i = 0; ok && i < state->size(); ++i) {
            Request& r = *(*state)[i];
            std::vector<TextStream> texts;
            for (int b = 0; b < n; ++b) texts.emplace_back(tok, cr.params.stop);
            auto last_write = Clock::now();
            for (;;) {
              Progress p = r.wait(std::chrono::milliseconds(100));
              if (!p.error.empty()) error = p.error;
              for (const auto& ev : p.tokens) {
                ++completion_tokens;
                TextStream& text = texts[ev.branch];
                const std::string delta = text.push(ev.token);
                json lp = nullptr;
                if (cr.params.logprobs) {
                  LogprobsBuilder builder;
                  builder.add(tok, text, cr.echo ? cr.prompt_texts[i].size() : 0, ev.logprob, ev.top, with_top);
                  lp = builder.take(with_top);
                }
                if (!chunk(json::array({choice(i * n + ev.branch, delta, std::move(lp), nullptr)}), nullptr,
                           cr.include_usage)) {
                  ok = false;
                  break;
                }
                last_write = Clock::now();
              }
              if (!ok) break;
              if (p.finished) {
                for (std::size_t b = 0; ok && b < p.completions.size(); ++b) {
                  const Completion& c = p.completions[b];
                  reasons.push_back(openai_finish_reason(c.finish_reason));
                  ok = chunk(json::array({choice(i * n + b, texts[b].finish(c.text), nullptr, reasons.back())}),
                             nullptr, cr.include_usage);
                }
                if (access.ttft < 0) access.ttft = r.ttft();
                break;
              }
              // While waiting (queued, or prefilling a long prompt), a comment
              // now and then finds out whether the client is still there.
              if (Clock::now() - last_write > std::chrono::seconds(1)) {
                static const std::string keepalive = ": waiting\n\n";
                if (!sink.write(keepalive.data(), keepalive.size())) ok = false;
                last_write = Clock::now();
              }
            }
          }
          access.completion_tokens = completion_tokens;
          if (!ok) {
            // Counted before cancelling: once cancelled, the engine frees the
            // request's blocks, and a scrape that sees them free must also
            // see why.
            server->metrics_.request_failed("disconnected");
            cancel_all();
            return false;
          }
          if (!error.empty()) {
            server->metrics_.request_failed("error");
            const std::string line =
                "data: " + error_body(ApiError(500, "generation failed: " + error)) + "\n\ndata: [DONE]\n\n";
            sink.write(line.data(), line.size());
            sink.done();
            return true;
          }
          if (cr.include_usage) {
            chunk(json::array(),
                  {{"prompt_tokens", prompt_tokens},
                   {"completion_tokens", completion_tokens},
                   {"total_tokens", prompt_tokens + completion_tokens}},
                  true);
          }
          server->metrics_.request_succeeded(request_reason(reasons));
          static const std::string done = "data: [DONE]\n\n";
          sink.write(done.data(), done.size());
          sink.done();
          return true;
        },
        [state](bool success) {
          // The connection ended early (or the provider gave up): make sure
          // nothing keeps generating for it.
          if (!success) {
            for (auto& r : *state) r->cancel();
          }
        });
  }
};

Server::Server(const ServeOptions& options) : o_(options), http_(std::make_unique<httplib::Server>()) {
  auto routes = std::make_shared<Routes>(Routes{*this});
  httplib::Server& h = *http_;
  // Enough threads that every admitted and waiting request has one and
  // excess requests still reach a handler to be told 429.
  const int threads = std::max(16, o_.max_running + o_.max_queue + 16);
  h.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  h.set_payload_max_length(static_cast<std::size_t>(o_.max_body_bytes));
  h.set_keep_alive_timeout(5);
  h.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;  // the last one created is the one that bound
  });
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    access = AccessInfo{};
    access.start = Clock::now();
    if (o_.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) == 0 && same_secret(auth.substr(prefix.size()), o_.api_key)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (req.path == "/v1/completions") metrics_.request_failed("unauthorized");
    send_error(res, ApiError(401,
                             auth.empty() ? "no API key: send the header 'Authorization: Bearer KEY'"
                                          : "the API key is not valid",
                             "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  h.Get("/health", [routes](const httplib::Request& q, httplib::Response& r) { routes->health(q, r); });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) {
    r.set_content(metrics_.text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  h.Get("/v1/models", [routes](const httplib::Request& q, httplib::Response& r) { routes->models(q, r); });
  h.Post("/v1/completions", [routes](const httplib::Request& q, httplib::Response& r) { routes->completions(q, r); });
  // Errors httplib answers itself (413, 404, 400) get OpenAI's body too.
  h.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      if (req.path == "/v1/completions") metrics_.request_failed("too_large");
      send_error(res, ApiError(413, "the body is larger than --max-body-bytes (" + std::to_string(o_.max_body_bytes) +
                                        " bytes)"));
    } else if (res.status == 404) {
      send_error(res, ApiError(404, "no route " + req.method + " " + req.path +
                                        "; see docs/serving.md and docs/stories.md for the routes"));
    } else {
      send_error(res, ApiError(res.status,
                               "the HTTP request could not be handled (status " + std::to_string(res.status) + ")"));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double total = std::chrono::duration<double>(Clock::now() - access.start).count();
    std::string line = "access: " + (access.id.empty() ? std::string("-") : access.id) + " " + req.method + " " +
                       req.path + " " + std::to_string(res.status);
    char b[160];
    std::snprintf(b, sizeof b, " prompt_tokens=%lld completion_tokens=%lld ttft=%.4fs total=%.4fs",
                  access.prompt_tokens, access.completion_tokens, access.ttft, total);
    line += b;
    if (o_.log_prompts && !access.prompt.empty()) line += " prompt=" + dump(access.prompt);
    std::fprintf(stderr, "%s\n", line.c_str());
  });
}

Server::~Server() = default;

int Server::bind() {
  const int port =
      o_.port == 0 ? http_->bind_to_any_port(o_.host) : (http_->bind_to_port(o_.host, o_.port) ? o_.port : -1);
  if (port < 0) {
    throw InputError("cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                     " (in use, or not an address of this machine); pick another --port or --host");
  }
  // Debian's httplib is a shared library built to listen with a backlog of
  // 5: 16 players connecting at once overflowed it and a connection was
  // reset before any handler saw it. Listening again on the same socket
  // raises the backlog (Linux keeps the socket and its port).
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  return port;
}

void Server::listen() { http_->listen_after_bind(); }

void Server::set_engine(const runtime::Model& model, EngineLoop& loop, const std::string& model_name,
                        Adapters adapters) {
  model_name_ = model_name;
  adapters_ = std::move(adapters);
  served_models_ = {model_name};
  for (const auto& [name, adapter] : adapters_) served_models_.push_back(name);
  model_ = &model;
  loop_ = &loop;
}

void Server::set_draining() { draining_ = true; }

void Server::stop() { http_->stop(); }

}  // namespace plotforge::serving
