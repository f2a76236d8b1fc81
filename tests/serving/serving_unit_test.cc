// The server's parts without the server: the request parser, the text
// streamer and the metrics writer.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "datasets/tokenizer.h"
#include "serving/api_error.h"
#include "serving/completion_request.h"
#include "serving/metrics.h"
#include "serving/text_stream.h"
#include "tests/test_util.h"

namespace plotforge::serving {
namespace {

const Tokenizer& tok() {
  static const Tokenizer t = Tokenizer::load(testing::sample_tokenizer());
  return t;
}

CompletionRequest parse(const std::string& body) { return parse_completion_request(body, tok(), {"m"}, 128, 99); }

// The field an invalid body is blamed on, and its status.
std::pair<int, std::string> blame(const std::string& body) {
  try {
    parse(body);
  } catch (const ApiError& e) {
    return {e.status(), e.param()};
  }
  return {200, ""};
}

TEST(CompletionRequest, OpenAIDefaults) {
  const CompletionRequest r = parse(R"({"prompt": "HAMLET"})");
  EXPECT_EQ(r.params.max_new_tokens, 16);
  EXPECT_FLOAT_EQ(r.params.temperature, 1.0f);
  EXPECT_EQ(r.params.n, 1);
  EXPECT_EQ(r.params.seed, 99u);
  EXPECT_FALSE(r.seeded);
  EXPECT_FALSE(r.params.logprobs);
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_EQ(r.prompts[0], tok().encode(conditioning_prompt(tok(), {}, "HAMLET")));
  EXPECT_EQ(r.prompt_texts[0], "HAMLET");
}

TEST(CompletionRequest, EveryFieldIsRead) {
  const CompletionRequest r = parse(R"({"prompt": "x", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "n": 3,
    "stop": ["a", "b"], "seed": 4, "logprobs": 2, "presence_penalty": 0.5, "frequency_penalty": -0.5,
    "echo": false, "stream": true, "stream_options": {"include_usage": true}, "user": "u", "model": "m",
    "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "ignore_eos": true, "best_of": 3,
    "genre": "tragedy", "beat": "Climax", "emotion": "fear"})");
  const SamplingParams& p = r.params;
  EXPECT_EQ(p.max_new_tokens, 7);
  EXPECT_FLOAT_EQ(p.temperature, 0.5f);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.seed, 4u);
  EXPECT_TRUE(r.seeded);
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.top_logprobs, 2);
  EXPECT_FLOAT_EQ(p.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(p.frequency_penalty, -0.5f);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.user, "u");
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_EQ(r.prompts[0], tok().encode(conditioning_prompt(tok(), {"tragedy", "climax", "fear", ""}, "x")));
}

TEST(CompletionRequest, ValenceIsALabelLikeTheOthers) {
  const CompletionRequest r = parse(R"({"prompt": "x", "valence": "negative", "beat": "climax"})");
  EXPECT_EQ(r.prompts[0], tok().encode(conditioning_prompt(tok(), {"", "climax", "", "negative"}, "x")));
  EXPECT_NE(tok().encode(conditioning_prompt(tok(), {"", "", "", "negative"}, "")),
            tok().encode(conditioning_prompt(tok(), {}, "")));  // one control token more
  EXPECT_EQ(blame(R"({"prompt": "x", "valence": "ecstatic"})"), std::make_pair(400, std::string("valence")));
}

TEST(CompletionRequest, TokenPromptsAreTakenAsTheyAre) {
  CompletionRequest r = parse(R"({"prompt": [5, 6, 7]})");
  EXPECT_EQ(r.prompts, (std::vector<std::vector<int>>{{5, 6, 7}}));
  r = parse(R"({"prompt": [[5], "HAMLET", [8, 9]], "n": 2})");
  ASSERT_EQ(r.prompts.size(), 3u);
  EXPECT_EQ(r.prompts[2], (std::vector<int>{8, 9}));
  // With a label, its control tokens come first.
  r = parse(R"({"prompt": [5], "beat": "climax"})");
  EXPECT_EQ(r.prompts[0].back(), 5);
  EXPECT_GT(r.prompts[0].size(), 1u);
  EXPECT_EQ(r.params.max_new_tokens, 16);
  EXPECT_EQ(parse(R"({"prompt": "x", "max_tokens": null})").params.max_new_tokens, 128);
  EXPECT_EQ(parse(R"({"prompt": "x", "top_k": -1})").params.top_k, 0);
}

TEST(CompletionRequest, ErrorsNameTheField) {
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"{", 400, ""},
      {"[]", 400, ""},
      {"\"x\"", 400, ""},
      {R"({})", 400, "prompt"},
      {R"({"prompt": 3})", 400, "prompt"},
      {R"({"prompt": []})", 400, "prompt"},
      {R"({"prompt": [true]})", 400, "prompt[0]"},
      {R"({"prompt": [1, 2.5]})", 400, "prompt[1]"},
      {R"({"prompt": [[1], {}]})", 400, "prompt[1]"},
      {R"({"prompt": [[1], [-1]]})", 400, "prompt[1][0]"},
      {R"({"prompt": ""})", 200, ""},  // "<scene>" still opens it
      {R"({"prompt": "x", "max_tokens": -1})", 400, "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 2.0})", 400, "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 18446744073709551615})", 400, "max_tokens"},
      {R"({"prompt": "x", "temperature": 2.5})", 400, "temperature"},
      {R"({"prompt": "x", "temperature": null})", 200, ""},
      {R"({"prompt": "x", "top_p": 1.5})", 400, "top_p"},
      {R"({"prompt": "x", "n": 0})", 400, "n"},
      {R"({"prompt": "x", "n": 129})", 400, "n"},
      {R"({"prompt": ["a", "b", "c"], "n": 50})", 400, "n"},
      {R"({"prompt": "x", "stop": 5})", 400, "stop"},
      {R"({"prompt": "x", "stop": ""})", 400, "stop"},
      {R"({"prompt": "x", "seed": "1"})", 400, "seed"},
      {R"({"prompt": "x", "logprobs": 21})", 400, "logprobs"},
      {R"({"prompt": "x", "logprobs": 1, "echo": true})", 400, "echo"},
      {R"({"prompt": "x", "presence_penalty": 3})", 400, "presence_penalty"},
      {R"({"prompt": "x", "stream_options": {"include_usage": true}})", 400, "stream_options"},
      {R"({"prompt": "x", "stream": true, "stream_options": {"x": 1}})", 400, "stream_options.x"},
      {R"({"prompt": "x", "min_p": 1})", 400, "min_p"},
      {R"({"prompt": "x", "repetition_penalty": 0})", 400, "repetition_penalty"},
      {R"({"prompt": "x", "best_of": 2})", 400, "best_of"},
      {R"({"prompt": "x", "suffix": "y"})", 400, "suffix"},
      {R"({"prompt": "x", "logit_bias": {"5": 1}})", 400, "logit_bias"},
      {R"({"prompt": "x", "genre": "space opera"})", 400, "genre"},
      {R"({"prompt": "x", "emotion": ["fear"]})", 400, "emotion"},
      {R"({"prompt": "x", "temprature": 1})", 400, "temprature"},
      {R"({"prompt": "x", "model": "other"})", 404, "model"},
  };
  for (const auto& [body, status, param] : cases) {
    const auto [got_status, got_param] = blame(body);
    EXPECT_EQ(got_status, status) << body;
    EXPECT_EQ(got_param, param) << body;
  }
  // A prompt as long as the context.
  std::string long_prompt = R"({"prompt": [)";
  for (int i = 0; i < 128; ++i) long_prompt += (i ? "," : "") + std::to_string(5);
  EXPECT_EQ(blame(long_prompt + "]}").second, "prompt");
}

TEST(CompletionRequest, ErrorBodyIsOpenAIs) {
  const auto j = nlohmann::json::parse(error_body(ApiError(429, "busy", "", "queue_full")));
  EXPECT_EQ(j["error"]["message"], "busy");
  EXPECT_EQ(j["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "queue_full");
}

TEST(TextStream, StreamedTextEqualsTheFinalTextAndNeverShowsAStopString) {
  const std::string text = "HAMLET\nTo be, or not to be, that is the question.\n";
  const std::vector<int> ids = tok().encode(text);
  for (const std::string stop : {"not to", "question", "zzz", "\n"}) {
    TextStream s(tok(), {stop});
    std::string sent;
    std::vector<int> so_far;
    std::string final_text;
    for (int id : ids) {
      so_far.push_back(id);
      sent += s.push(id);
      const std::string now = tok().decode(so_far);
      EXPECT_EQ(sent.find(stop), std::string::npos) << stop;
      EXPECT_EQ(now.compare(0, sent.size(), sent), 0) << "sent text is a prefix";
      if (now.find(stop) != std::string::npos) {
        final_text = now.substr(0, now.find(stop));
        break;
      }
      final_text = now;
    }
    sent += s.finish(final_text);
    EXPECT_EQ(sent, final_text) << stop;
  }
}

TEST(TextStream, IncompleteUtf8IsHeldBack) {
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xC3"), 1u);         // first byte of é
  EXPECT_EQ(incomplete_utf8_tail("a\xC3\xA9"), 0u);     // é
  EXPECT_EQ(incomplete_utf8_tail("a\xE2\x80"), 2u);     // two of three bytes
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);  // three of four
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98\x80"), 0u);
}

TEST(Metrics, PrometheusTextWithCumulativeBuckets) {
  Metrics m;
  m.request_succeeded("stop");
  m.request_succeeded("stop");
  m.request_failed("queue_full");
  m.add_tokens(10, 3);
  m.observe_ttft(0.003);
  m.observe_ttft(0.5);
  m.observe_ttft(1000);
  const std::string t = m.text();
  EXPECT_NE(t.find("plotforge:request_success_total{finished_reason=\"stop\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("plotforge:request_failure_total{reason=\"queue_full\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:prompt_tokens_total 10\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_bucket{le=\"0.5\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_bucket{le=\"80\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("plotforge:time_to_first_token_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE plotforge:kv_cache_usage_perc gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace plotforge::serving
