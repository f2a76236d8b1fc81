#include "serving/completion_request.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "datasets/annotations.h"
#include "serving/api_error.h"
#include "serving/json_fields.h"

namespace plotforge::serving {

using nlohmann::json;

namespace {

std::vector<int> token_ids(const json& v, const std::string& field, int vocab) {
  std::vector<int> ids;
  for (std::size_t i = 0; i < v.size(); ++i) {
    ids.push_back(static_cast<int>(json_integer(v[i], field + "[" + std::to_string(i) + "]", 0, vocab - 1)));
  }
  return ids;
}

const std::set<std::string>& known_fields() {
  static const std::set<std::string> k = {"prompt",
                                          "max_tokens",
                                          "temperature",
                                          "top_p",
                                          "n",
                                          "stop",
                                          "seed",
                                          "logprobs",
                                          "presence_penalty",
                                          "frequency_penalty",
                                          "echo",
                                          "stream",
                                          "stream_options",
                                          "user",
                                          "model",
                                          "top_k",
                                          "min_p",
                                          "repetition_penalty",
                                          "ignore_eos",
                                          "genre",
                                          "beat",
                                          "emotion",
                                          "valence",
                                          "best_of",
                                          "suffix",
                                          "logit_bias"};
  return k;
}

}  // namespace

std::string read_control_label(const json& j, const char* kind, const Tokenizer& tok) {
  if (!j.contains(kind) || j[kind].is_null()) return "";
  const std::string v = json_string(j[kind], kind);
  if (v.empty()) return "";
  const std::string token = "<" + std::string(kind) + "=" + normalize_label(v) + ">";
  if (tok.piece_id(token) < 0) {
    std::string known;
    for (const auto& [piece, id] : tok.control_tokens()) {
      const std::string prefix = "<" + std::string(kind) + "=";
      if (piece.rfind(prefix, 0) == 0) {
        known += (known.empty() ? "" : ", ") + piece.substr(prefix.size(), piece.size() - prefix.size() - 1);
      }
    }
    bad_field(kind, "'" + v + "' has no control token in this model; known: " +
                        (known.empty() ? std::string("none") : known));
  }
  return normalize_label(v);
}

CompletionRequest parse_completion_request(const std::string& body, const Tokenizer& tok,
                                           const std::vector<std::string>& served_models, int context,
                                           std::uint64_t random_seed) {
  json j = json_body(body);
  for (const auto& [key, value] : j.items()) {
    if (!known_fields().count(key))
      bad_field(key, "unknown field (see docs/serving.md for the fields the server reads)");
  }
  CompletionRequest r;
  SamplingParams& p = r.params;
  p.temperature = 1.0f;  // OpenAI's defaults, where they differ from the CLI's
  p.max_new_tokens = 16;
  auto has = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };

  if (has("model")) {
    r.model = json_string(j["model"], "model");
    if (std::find(served_models.begin(), served_models.end(), r.model) == served_models.end()) {
      std::string names;
      for (const auto& m : served_models) names += (names.empty() ? "'" : ", '") + m + "'";
      throw ApiError(404, "model: '" + r.model + "' is not served here; this server serves " + names, "model",
                     "model_not_found");
    }
  }
  if (has("user")) r.user = json_string(j["user"], "user");
  if (has("max_tokens")) {
    p.max_new_tokens =
        static_cast<int>(json_integer(j["max_tokens"], "max_tokens", 0, std::numeric_limits<int>::max()));
  } else if (j.contains("max_tokens")) {
    p.max_new_tokens = context;  // null: until the context ends
  }
  if (has("temperature")) {
    const double t = json_number(j["temperature"], "temperature");
    if (t < 0 || t > 2) bad_field("temperature", "must be in [0, 2]");
    p.temperature = static_cast<float>(t);
  }
  if (has("top_p")) {
    const double t = json_number(j["top_p"], "top_p");
    if (!(t > 0 && t <= 1)) bad_field("top_p", "must be in (0, 1]");
    p.top_p = static_cast<float>(t);
  }
  if (has("n")) p.n = static_cast<int>(json_integer(j["n"], "n", 1, 128));
  if (has("best_of") && json_integer(j["best_of"], "best_of", 1, 128) != p.n) {
    bad_field("best_of", "not supported (only best_of equal to n)");
  }
  if (has("suffix")) bad_field("suffix", "not supported (the models have no fill-in-the-middle training)");
  if (has("logit_bias") && !(j["logit_bias"].is_object() && j["logit_bias"].empty())) {
    bad_field("logit_bias", "not supported");
  }
  if (has("stop")) {
    const json& s = j["stop"];
    if (s.is_string()) {
      p.stop = {s.get<std::string>()};
    } else if (s.is_array()) {
      if (s.size() > 16) bad_field("stop", "at most 16 stop strings");
      for (std::size_t i = 0; i < s.size(); ++i) p.stop.push_back(json_string(s[i], "stop[" + std::to_string(i) + "]"));
    } else {
      bad_field("stop", "must be a string or a list of strings");
    }
    for (const auto& s : p.stop) {
      if (s.empty()) bad_field("stop", "a stop string is empty");
    }
  }
  p.seed = random_seed;
  if (has("seed")) {
    p.seed = static_cast<std::uint64_t>(json_integer(j["seed"], "seed", 0, std::numeric_limits<long long>::max()));
    r.seeded = true;
  }
  if (has("logprobs")) {
    p.logprobs = true;
    p.top_logprobs = static_cast<int>(json_integer(j["logprobs"], "logprobs", 0, 20));
  }
  auto penalty = [&](const char* k, float* out) {
    if (!has(k)) return;
    const double x = json_number(j[k], k);
    if (x < -2 || x > 2) bad_field(k, "must be in [-2, 2]");
    *out = static_cast<float>(x);
  };
  penalty("presence_penalty", &p.presence_penalty);
  penalty("frequency_penalty", &p.frequency_penalty);
  if (has("echo")) r.echo = json_bool(j["echo"], "echo");
  if (r.echo && p.logprobs)
    bad_field("echo", "echo with logprobs is not supported (prompt log-probabilities are not computed)");
  if (has("stream")) r.stream = json_bool(j["stream"], "stream");
  if (has("stream_options")) {
    const json& o = j["stream_options"];
    if (!o.is_object()) bad_field("stream_options", "must be an object");
    for (const auto& [key, value] : o.items()) {
      if (key != "include_usage") bad_field("stream_options." + key, "unknown field");
    }
    if (o.contains("include_usage") && !o["include_usage"].is_null()) {
      r.include_usage = json_bool(o["include_usage"], "stream_options.include_usage");
    }
    if (!r.stream) bad_field("stream_options", "only with stream: true");
  }
  if (has("top_k")) {
    const long long k = json_integer(j["top_k"], "top_k", -1, std::numeric_limits<int>::max());
    p.top_k = k < 0 ? 0 : static_cast<int>(k);
  }
  if (has("min_p")) {
    const double x = json_number(j["min_p"], "min_p");
    if (!(x >= 0 && x < 1)) bad_field("min_p", "must be in [0, 1)");
    p.min_p = static_cast<float>(x);
  }
  if (has("ignore_eos")) p.ignore_eos = json_bool(j["ignore_eos"], "ignore_eos");
  if (has("repetition_penalty")) {
    const double x = json_number(j["repetition_penalty"], "repetition_penalty");
    if (!(x > 0 && x <= 10)) bad_field("repetition_penalty", "must be in (0, 10]");
    p.repetition_penalty = static_cast<float>(x);
  }

  // Story controls, each checked on its own so the error names its field.
  ControlLabels labels;
  labels.genre = read_control_label(j, "genre", tok);
  labels.beat = read_control_label(j, "beat", tok);
  labels.emotion = read_control_label(j, "emotion", tok);
  labels.valence = read_control_label(j, "valence", tok);
  // A text prompt opens as the CLI's --prompt does (conditioning_prompt:
  // "<scene>" and the labels given); token ids are taken as they are, after
  // the labels' tokens when there are labels.
  const bool labelled =
      !labels.genre.empty() || !labels.beat.empty() || !labels.emotion.empty() || !labels.valence.empty();
  const std::string controls = conditioning_prompt(tok, labels, "");

  if (!j.contains("prompt")) bad_field("prompt", "required");
  const json& pr = j["prompt"];
  const int vocab = tok.vocab_size();
  auto add_text = [&](const std::string& text) {
    r.prompts.push_back(tok.encode(controls + text));
    r.prompt_texts.push_back(text);
  };
  auto add_ids = [&](std::vector<int> ids) {
    std::vector<int> all = labelled ? tok.encode(controls) : std::vector<int>{};
    all.insert(all.end(), ids.begin(), ids.end());
    r.prompt_texts.push_back(tok.decode(ids));
    r.prompts.push_back(std::move(all));
  };
  if (pr.is_string()) {
    add_text(pr.get<std::string>());
  } else if (pr.is_array() && !pr.empty() && pr[0].is_number()) {
    add_ids(token_ids(pr, "prompt", vocab));
  } else if (pr.is_array() && !pr.empty()) {
    if (pr.size() > 128) bad_field("prompt", "at most 128 prompts in one request");
    for (std::size_t i = 0; i < pr.size(); ++i) {
      const std::string f = "prompt[" + std::to_string(i) + "]";
      if (pr[i].is_string()) {
        add_text(pr[i].get<std::string>());
      } else if (pr[i].is_array()) {
        add_ids(token_ids(pr[i], f, vocab));
      } else {
        bad_field(f, "must be a string or a list of token ids");
      }
    }
  } else {
    bad_field("prompt", "must be a string, a list of strings, a list of token ids or a list of such lists");
  }
  if (static_cast<long long>(r.prompts.size()) * p.n > 128) bad_field("n", "prompts times n must be at most 128");
  for (std::size_t i = 0; i < r.prompts.size(); ++i) {
    const std::string f = r.prompts.size() == 1 ? "prompt" : "prompt[" + std::to_string(i) + "]";
    if (r.prompts[i].empty()) bad_field(f, "empty; give text, token ids or a genre, beat or emotion");
    if (static_cast<int>(r.prompts[i].size()) >= context) {
      bad_field(f, "the prompt has " + std::to_string(r.prompts[i].size()) + " tokens and the model's context is " +
                       std::to_string(context) + "; shorten it");
    }
  }
  return r;
}

}  // namespace plotforge::serving
