#include "stories/routes.h"

#include <httplib.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <random>

#include "datasets/annotations.h"
#include "datasets/documents.h"
#include "datasets/fountain.h"
#include "personalisation/features.h"
#include "personalisation/profile.h"
#include "serving/completion_request.h"
#include "serving/json_fields.h"
#include "serving/text_stream.h"
#include "stories/arc.h"
#include "stories/export.h"
#include "stories/generation_request.h"
#include "stories/player_assets.h"

namespace plotforge::stories {

using nlohmann::json;
using serving::ApiError;
using serving::json_integer;
using serving::json_number;
using serving::json_string;

namespace {

constexpr std::size_t kMaxTextBytes = 16384;  // an edit or a premise

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

// Runs a handler, answering ApiError with its status and InputError with 400.
template <class F>
void guarded(httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    serving::send_error(res, e);
  } catch (const InputError& e) {
    serving::send_error(res, ApiError(400, e.what()));
  }
}

json passage_json(const Passage& p) {
  return {{"id", p.id},
          {"parent", p.parent ? json(p.parent) : json(nullptr)},
          {"text", p.text},
          {"author", p.author},
          {"controls", p.controls},
          {"created", p.created}};
}

}  // namespace

class StoryRoutes::Api {
 public:
  Api(serving::Server& server, Store& store, const runtime::SceneClassifier* classifier)
      : server_(server), store_(store), classifier_(classifier), space_(feature_space(classifier)) {}

  // The classifier's heads that are features: genre, beat and emotion (the
  // text features hold valence), where trained on labelled scenes.
  static bool wanted(const runtime::SceneHead& h) { return h.name != "valence" && h.labelled && !h.labels.empty(); }

  // The text features, then the classifier's genre, beat and emotion classes.
  static personalisation::FeatureSpace feature_space(const runtime::SceneClassifier* c) {
    std::vector<std::pair<std::string, std::vector<std::string>>> heads;
    if (c) {
      for (const auto& h : c->heads()) {
        if (wanted(h)) heads.emplace_back(h.name, h.labels);
      }
    }
    return personalisation::FeatureSpace(heads);
  }

  // The features of passages shown together at one node, whose story so far
  // is `so_far`: their text's, then the classifier's probabilities.
  std::vector<personalisation::Features> fresh_features(const std::vector<std::string>& texts,
                                                        const personalisation::StorySoFar& so_far) const {
    std::vector<personalisation::Features> out;
    for (const auto& t : texts) out.push_back(personalisation::passage_features(t, so_far));
    if (classifier_) {
      const auto probs = classifier_->classify(texts);
      for (std::size_t i = 0; i < texts.size(); ++i) {
        for (std::size_t h = 0; h < classifier_->heads().size(); ++h) {
          const auto& head = classifier_->heads()[h];
          if (!wanted(head)) continue;
          out[i].insert(out[i].end(), probs[i][h].begin(), probs[i][h].end());
        }
      }
    }
    return out;
  }

  // Stored features in this server's space; where a passage's stored ones
  // lack any (stored before this classifier, or a writer's passage), all of
  // them afresh from the texts.
  std::vector<personalisation::Features> features_of(const std::vector<Passage>& shown,
                                                     const personalisation::StorySoFar& so_far) const {
    std::vector<personalisation::Features> out;
    for (const Passage& p : shown) {
      auto f = p.controls.contains("features") ? space_.read(p.controls["features"]) : std::nullopt;
      if (!f) {
        std::vector<std::string> texts;
        for (const Passage& q : shown) texts.push_back(q.text);
        return fresh_features(texts, so_far);
      }
      out.push_back(std::move(*f));
    }
    return out;
  }

  // What novelty and new voices of a node's children are measured against.
  personalisation::StorySoFar story_so_far(const std::string& id, std::int64_t node) {
    std::string text;
    if (node != 0) {
      for (const Passage& q : store_.path(id, node)) text += q.text + "\n";
    }
    return personalisation::StorySoFar(text);
  }

  const runtime::Model& model() const {
    const runtime::Model* m = server_.model();
    if (!m || !server_.engine()) throw ApiError(503, "the model is still loading; retry when /health says ok");
    return *m;
  }

  // The tree as `viewer` sees it: their current passage and path.
  json tree(const std::string& id, const std::string& viewer = "") {
    Story st = store_.story(id);
    st.current = store_.current(st, viewer);
    return tree_json(st, store_.passages(id));
  }

  // The viewer's profile: stored, or a new one from the audience's.
  personalisation::Profile viewer_profile(const std::string& viewer) {
    const json mine = store_.profile(viewer);
    if (!mine.is_null()) return personalisation::Profile::from_json(mine, space_);
    const json audience = store_.profile("");
    return personalisation::Profile::from_audience(audience.is_null()
                                                       ? personalisation::Profile::prior(space_)
                                                       : personalisation::Profile::from_json(audience, space_));
  }

  void create(const httplib::Request& req, httplib::Response& res) {
    const json body = serving::json_body(req.body);
    static const std::set<std::string> known = {
        "title", "premise",      "fountain", "scene",      "genre",       "beat",  "emotion", "valence",
        "arc",   "arc_passages", "k",        "max_tokens", "temperature", "top_p", "top_k",   "min_p"};
    for (const auto& [key, value] : body.items()) {
      if (!known.count(key)) serving::bad_field(key, "unknown field (see docs/stories.md)");
    }
    const Tokenizer& tok = model().tokenizer();
    std::string title = body.contains("title") ? json_string(body["title"], "title") : "";
    const std::string premise = body.contains("premise") ? json_string(body["premise"], "premise") : "";
    const std::string source = body.contains("fountain") ? json_string(body["fountain"], "fountain") : "";
    if (premise.size() > kMaxTextBytes) serving::bad_field("premise", "longer than 16384 bytes");
    if (title.size() > 512) serving::bad_field("title", "longer than 512 bytes");
    if (!premise.empty() && !source.empty())
      serving::bad_field("fountain", "give a premise or a Fountain text, not both");
    json controls = json::object();
    for (const char* k : {"k", "max_tokens", "temperature", "top_p", "top_k", "min_p"}) {
      if (body.contains(k) && !body[k].is_null()) controls[k] = body[k];
    }
    const std::string genre = serving::read_control_label(body, "genre", tok),
                      beat = serving::read_control_label(body, "beat", tok),
                      emotion = serving::read_control_label(body, "emotion", tok),
                      valence = serving::read_control_label(body, "valence", tok);
    if (!genre.empty()) controls["genre"] = genre;
    if (!beat.empty()) controls["beat"] = beat;
    if (!emotion.empty()) controls["emotion"] = emotion;
    if (!valence.empty()) controls["valence"] = valence;
    const std::vector<double> arc = read_arc(body);
    if (!arc.empty()) {
      controls["arc"] = arc;
      if (body["arc"].is_string()) controls["arc_shape"] = body["arc"];
    }
    Story draft;
    draft.controls = controls;
    read_generation(json::object(), draft, tok);  // the defaults must make a valid generation

    Passage opening;
    opening.author = "human";
    opening.controls = controls;
    if (!source.empty()) {
      // A screenplay (or one of its scenes) seeds the story: its canonical
      // text, control tokens and all, is the opening's context.
      const Script script = parse_fountain(source, "fountain");
      const Document doc = document_from_script(script);
      std::string text = doc.text;
      if (body.contains("scene") && !body["scene"].is_null()) {
        const long long k = json_integer(body["scene"], "scene", 1, std::max<long long>(1, doc.scenes.size()));
        if (doc.scenes.empty()) serving::bad_field("scene", "the screenplay has no scenes");
        const SceneSpan& sp = doc.scenes[k - 1];
        text =
            (genre.empty() ? std::string() : genre_token(genre) + "\n") + doc.text.substr(sp.begin, sp.end - sp.begin);
      }
      if (title.empty()) title = script.title_field("title");
      opening.tokens = tok.encode(text);
      opening.text = strip_control_tokens(text);
    } else {
      if (premise.empty() && genre.empty() && beat.empty() && emotion.empty() && valence.empty()) {
        serving::bad_field("premise", "give a premise, a Fountain text, or at least a genre, beat, emotion or valence");
      }
      opening.tokens = tok.encode(conditioning_prompt(tok, {genre, beat, emotion, valence}, premise));
      opening.text = premise;
    }
    if (static_cast<int>(opening.tokens.size()) >= model().config().context) {
      serving::bad_field(source.empty() ? "premise" : "fountain",
                         "its " + std::to_string(opening.tokens.size()) + " tokens do not fit the model's context of " +
                             std::to_string(model().config().context) + "; shorten it (or pick a scene)");
    }
    const Story st = store_.create(title, premise, controls, opening);
    send_json(res, tree(st.id), 201);
  }

  // Generates the node's candidates and stores them (one transaction, with
  // the event) before answering. `on_text` gets each candidate's text as it
  // is sampled; returning false cancels the generation (nothing is stored).
  // With an arc, `steer` gets the target and the candidate closest to it.
  // For a viewer (personalised), 2k candidates are generated and the k their
  // profile ranks first are kept, in that order; `ranking` gets their scores.
  // A personalised stream sends no per-token text: which candidates are
  // shown is known only at the end.
  std::vector<Passage> generate(const Story& st, const Generation& g, bool replace, const std::string& event_kind,
                                const std::function<bool(int, const std::string&)>& on_text, json* steer,
                                json* ranking) {
    const runtime::Model& m = model();
    const Tokenizer& tok = m.tokenizer();
    const int context = m.config().context;
    std::vector<int> prompt;
    const std::vector<Passage> path = store_.path(st.id, g.node);
    for (const Passage& p : path) prompt.insert(prompt.end(), p.tokens.begin(), p.tokens.end());
    std::optional<double> target;
    if (st.controls.contains("arc")) target = arc_target(st.controls["arc"].get<std::vector<double>>(), path.size());
    std::string valence = g.valence;
    if (target && valence.empty() && tok.piece_id(valence_token(target_valence(*target))) >= 0) {
      valence = target_valence(*target);
    }
    const std::vector<int> line = tok.encode(conditioning_prompt(tok, {"", g.beat, g.emotion, valence}, ""));
    prompt.insert(prompt.end(), line.begin(), line.end());
    SamplingParams p = g.params;
    const bool personal = !g.viewer.empty() && g.personalise;
    const int shown = p.n;
    if (personal) p.n = 2 * shown;
    p.max_new_tokens = std::min(p.max_new_tokens, context / 2);
    // The story so far may outgrow the context: keep its end.
    const std::size_t keep = static_cast<std::size_t>(context - p.max_new_tokens);
    if (prompt.size() > keep) prompt.erase(prompt.begin(), prompt.end() - static_cast<std::ptrdiff_t>(keep));
    const int scene = tok.piece_id(scene_token());
    if (scene >= 0) p.stop_tokens = {scene};  // a passage is one scene
    auto request = server_.engine()->submit({prompt}, p, std::chrono::steady_clock::now()).at(0);
    std::vector<serving::TextStream> texts;
    for (int i = 0; i < p.n; ++i) texts.emplace_back(tok, std::vector<std::string>{});
    serving::Progress done;
    for (;;) {
      serving::Progress pr = request->wait(std::chrono::milliseconds(200));
      for (const auto& ev : pr.tokens) {
        const std::string delta = texts[ev.branch].push(ev.token);
        if (!delta.empty() && !on_text(personal ? -1 : ev.branch, delta)) {
          request->cancel();
          throw ApiError(499, "the client went away");
        }
      }
      if (pr.finished) {
        done = std::move(pr);
        break;
      }
    }
    if (!done.error.empty()) throw ApiError(500, "generation failed: " + done.error);
    std::vector<Passage> out;
    std::vector<double> measured;
    std::string text_so_far;  // for novelty and new voices, read once for every candidate
    for (const Passage& q : path) text_so_far += q.text + "\n";
    const personalisation::StorySoFar so_far(text_so_far);
    const std::string batch = std::to_string(p.seed) + "." + std::to_string(g.node);
    std::vector<std::string> passages;
    for (const Completion& c : done.completions) passages.push_back(strip_control_tokens(c.text));
    const std::vector<personalisation::Features> features = fresh_features(passages, so_far);
    for (std::size_t i = 0; i < done.completions.size(); ++i) {
      const Completion& c = done.completions[i];
      if (c.finish_reason == "abort") throw ApiError(503, "the server is shutting down; nothing was stored");
      Passage ps;
      ps.author = "model";
      ps.text = passages[i];
      ps.tokens = line;
      ps.tokens.insert(ps.tokens.end(), c.tokens.begin(), c.tokens.end());
      ps.controls = {{"temperature", p.temperature},
                     {"top_p", p.top_p},
                     {"top_k", p.top_k},
                     {"min_p", p.min_p},
                     {"seed", p.seed + i},
                     {"max_tokens", p.max_new_tokens},
                     {"finish_reason", c.finish_reason}};
      if (!g.beat.empty()) ps.controls["beat"] = g.beat;
      if (!g.emotion.empty()) ps.controls["emotion"] = g.emotion;
      if (!valence.empty()) ps.controls["valence"] = valence;
      if (st.controls.contains("genre")) ps.controls["genre"] = st.controls["genre"];
      // Every passage's measured valence (its first feature): what steering
      // picks by, and what audience analytics read.
      const double v = features[i][0];
      ps.controls["measured_valence"] = std::round(v * 1e4) / 1e4;
      if (target) ps.controls["arc_target"] = *target;
      ps.controls["features"] = space_.to_json(features[i]);
      ps.controls["batch"] = batch;  // the candidates shown together, which a choice is learnt against
      if (!g.viewer.empty()) ps.controls["viewer"] = g.viewer;
      measured.push_back(v);
      out.push_back(std::move(ps));
    }
    json event = {{"k", shown}, {"seed", p.seed}};
    if (target) event["arc_target"] = *target;
    std::vector<double> scores;
    std::vector<std::size_t> order;
    if (personal) {
      // Rank by the viewer's profile (a new viewer starts from the audience's).
      const personalisation::Profile viewer = viewer_profile(g.viewer);
      order = personalisation::rank_candidates(viewer, features, static_cast<std::size_t>(shown), p.seed);
      const std::vector<double> all = viewer.mean_scores(features);
      std::vector<Passage> kept;
      std::vector<double> kept_measured;
      for (std::size_t r = 0; r < order.size(); ++r) {
        out[order[r]].controls["rank"] = r + 1;
        kept.push_back(std::move(out[order[r]]));
        kept_measured.push_back(measured[order[r]]);
        scores.push_back(all[order[r]]);
      }
      out = std::move(kept);
      measured = std::move(kept_measured);
      event["generated"] = p.n;
    }
    store_.add_passages(st.id, g.node, out, event_kind, event, replace, g.viewer);
    if (personal && ranking) {
      *ranking = json::array();
      for (std::size_t r = 0; r < out.size(); ++r) {
        (*ranking).push_back(
            {{"id", out[r].id},
             {"score", std::round(scores[r] * 1e4) / 1e4},
             {"explore", shown >= 2 && r + 1 == out.size() && out.size() == static_cast<std::size_t>(shown)}});
      }
    }
    if (target && steer && !out.empty()) {
      *steer = {{"passage", path.size()}, {"target", *target}, {"pick", out[closest_to(measured, *target)].id}};
      if (!valence.empty()) (*steer)["valence"] = valence;
    }
    return out;
  }

  void branches(const httplib::Request& req, httplib::Response& res, bool replace) {
    const std::string id = req.matches[1];
    const json body = serving::json_body(req.body);
    Story st = store_.story(id);
    st.current = store_.current(st, viewer_field(body));  // the default node: the viewer's current passage
    const Generation g = read_generation(body, st, model().tokenizer());
    store_.passage(id, g.node);  // 404 before generating
    const std::string kind = replace ? "retry" : "branches";
    if (!g.stream) {
      json steer, ranking;
      const auto out = generate(
          st, g, replace, kind, [](int, const std::string&) { return true; }, &steer, &ranking);
      json ps = json::array();
      for (const auto& p : out) ps.push_back(passage_json(p));
      json answer = {{"node", g.node}, {"passages", ps}};
      if (!steer.is_null()) answer["arc"] = steer;
      if (!ranking.is_null()) answer["ranking"] = ranking;
      send_json(res, answer, 201);
      return;
    }
    auto self = this;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [self, st, g, replace, kind](std::size_t, httplib::DataSink& sink) {
          auto send = [&](const json& j) {
            const std::string line = "data: " + dump(j) + "\n\n";
            return sink.write(line.data(), line.size());
          };
          try {
            json steer, ranking;
            const auto out = self->generate(
                st, g, replace, kind,
                [&](int candidate, const std::string& text) {
                  // A personalised stream (candidate -1) only checks the client is there.
                  return candidate < 0 ? sink.is_writable() : send({{"candidate", candidate}, {"text", text}});
                },
                &steer, &ranking);
            json ps = json::array();
            for (const auto& p : out) ps.push_back(passage_json(p));
            json answer = {{"node", g.node}, {"passages", ps}};
            if (!steer.is_null()) answer["arc"] = steer;
            if (!ranking.is_null()) answer["ranking"] = ranking;
            send(answer);
          } catch (const ApiError& e) {
            if (e.status() == 499) return false;
            const std::string line = "data: " + serving::error_body(e) + "\n\n";
            sink.write(line.data(), line.size());
          } catch (const InputError& e) {
            const std::string line = "data: " + serving::error_body(ApiError(400, e.what())) + "\n\n";
            sink.write(line.data(), line.size());
          }
          static const std::string done = "data: [DONE]\n\n";
          sink.write(done.data(), done.size());
          sink.done();
          return true;
        });
  }

  void routes() {
    httplib::Server& h = server_.http();
    const std::string sid = "/v1/stories/(st_[0-9a-f]{1,32})";
    h.Post("/v1/stories",
           [this](const httplib::Request& q, httplib::Response& r) { guarded(r, [&] { create(q, r); }); });
    h.Get("/v1/stories", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const long long limit =
            q.has_param("limit") ? serving::query_integer(q.get_param_value("limit"), "limit", 1, 100) : 20;
        const std::string after = q.has_param("after") ? q.get_param_value("after") : "";
        json data = json::array();
        for (const Story& st : store_.list(static_cast<int>(limit), after)) {
          data.push_back({{"id", st.id},
                          {"title", st.title},
                          {"premise", st.premise},
                          {"controls", st.controls},
                          {"created", st.created},
                          {"updated", st.updated}});
        }
        send_json(r, {{"object", "list"},
                      {"data", data},
                      {"has_more", static_cast<long long>(data.size()) == limit},
                      {"last_id", data.empty() ? json(nullptr) : data.back()["id"]}});
      });
    });
    h.Get(sid, [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const std::string viewer = q.has_param("viewer") ? q.get_param_value("viewer") : "";
        send_json(r, tree(q.matches[1], viewer_field(viewer.empty() ? json::object() : json{{"viewer", viewer}})));
      });
    });
    h.Delete(sid, [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        store_.remove(q.matches[1]);
        send_json(r, {{"id", std::string(q.matches[1])}, {"deleted", true}});
      });
    });
    h.Post(sid + "/branches",
           [this](const httplib::Request& q, httplib::Response& r) { guarded(r, [&] { branches(q, r, false); }); });
    h.Post(sid + "/retry",
           [this](const httplib::Request& q, httplib::Response& r) { guarded(r, [&] { branches(q, r, true); }); });
    h.Post(sid + "/choose", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const json body = serving::json_body(q.body);
        if (!body.contains("node")) serving::bad_field("node", "required");
        const std::string viewer = viewer_field(body);
        const std::string id = q.matches[1];
        const std::int64_t node = node_field(body, 0);
        const personalisation::StorySoFar so_far = story_so_far(id, store_.passage(id, node).parent);
        // What the choice teaches the audience's profile and the viewer's.
        const Store::Learn learn = [&](const std::vector<Passage>& shown, std::size_t chosen, json& audience,
                                       json& mine) {
          if (shown.size() < 2) return;
          const std::vector<personalisation::Features> xs = features_of(shown, so_far);
          personalisation::Profile a = audience.is_null() ? personalisation::Profile::prior(space_)
                                                          : personalisation::Profile::from_json(audience, space_);
          if (!viewer.empty()) {
            personalisation::Profile v = mine.is_null() ? personalisation::Profile::from_audience(a)
                                                        : personalisation::Profile::from_json(mine, space_);
            v.observe(xs, chosen);
            mine = v.to_json();
          }
          a.observe(xs, chosen);
          audience = a.to_json();
        };
        store_.choose(id, node, viewer, learn);
        send_json(r, tree(id, viewer));
      });
    });
    // Ranks a node's existing candidates for a viewer (an authored story's
    // fixed choices, or candidates generated earlier), without generating.
    h.Post(sid + "/rank", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const json body = serving::json_body(q.body);
        for (const auto& [key, value] : body.items()) {
          if (key != "node" && key != "viewer" && key != "k" && key != "seed") {
            serving::bad_field(key, "unknown field (see docs/personalisation.md)");
          }
        }
        const std::string id = q.matches[1];
        const std::string viewer = viewer_field(body);
        if (viewer.empty()) serving::bad_field("viewer", "required: whose taste to rank by");
        Story st = store_.story(id);
        const std::int64_t node = node_field(body, store_.current(st, viewer));
        store_.passage(id, node);
        std::vector<Passage> cands;
        for (const std::int64_t c : store_.children(node)) cands.push_back(store_.passage(id, c));
        const std::vector<personalisation::Features> xs = features_of(cands, story_so_far(id, node));
        const std::size_t k = body.contains("k") && !body["k"].is_null()
                                  ? static_cast<std::size_t>(json_integer(body["k"], "k", 1, 64))
                                  : cands.size();
        const std::uint64_t seed = body.contains("seed") && !body["seed"].is_null()
                                       ? static_cast<std::uint64_t>(json_integer(body["seed"], "seed", 0,
                                                                                 std::numeric_limits<long long>::max()))
                                       : std::random_device{}();
        const personalisation::Profile profile = viewer_profile(viewer);
        const auto order = personalisation::rank_candidates(profile, xs, k, seed);
        const std::vector<double> scores = profile.mean_scores(xs);
        json ranking = json::array(), ids = json::array();
        for (std::size_t i = 0; i < order.size(); ++i) {
          ranking.push_back({{"id", cands[order[i]].id},
                             {"score", std::round(scores[order[i]] * 1e4) / 1e4},
                             {"explore", k >= 2 && i + 1 == k && k < cands.size()}});
          ids.push_back(cands[order[i]].id);
        }
        store_.record(id, node, "rank", {{"passages", ids}, {"seed", seed}, {"of", cands.size()}}, viewer);
        send_json(r, {{"node", node}, {"ranking", ranking}});
      });
    });
    h.Post(sid + "/undo", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const json body = q.body.empty() ? json::object() : serving::json_body(q.body);
        const std::string viewer = viewer_field(body);
        store_.undo(q.matches[1], viewer);
        send_json(r, tree(q.matches[1], viewer));
      });
    });
    h.Post(sid + "/edit", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const json body = serving::json_body(q.body);
        if (!body.contains("node")) serving::bad_field("node", "required");
        if (!body.contains("text")) serving::bad_field("text", "required");
        const std::string text = json_string(body["text"], "text");
        if (text.size() > kMaxTextBytes) {
          throw ApiError(413, "text: longer than 16384 bytes; split the passage", "text");
        }
        const std::string id = q.matches[1];
        const Passage p = store_.passage(id, node_field(body, 0));
        const Tokenizer& tok = model().tokenizer();
        // The passage keeps its control line; the writer's text replaces the rest.
        const ControlLabels labels = {p.parent == 0 ? p.controls.value("genre", "") : "", p.controls.value("beat", ""),
                                      p.controls.value("emotion", ""), p.controls.value("valence", "")};
        const std::vector<int> tokens = tok.encode(conditioning_prompt(tok, labels, text));
        store_.edit(id, p.id, text, tokens);
        send_json(r, tree(id));
      });
    });
    h.Post(sid + "/dwell", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const json body = serving::json_body(q.body);
        if (!body.contains("node")) serving::bad_field("node", "required");
        if (!body.contains("seconds")) serving::bad_field("seconds", "required");
        const double s = json_number(body["seconds"], "seconds");
        if (s < 0 || s > 86400) serving::bad_field("seconds", "must be in [0, 86400]");
        store_.record(q.matches[1], node_field(body, 0), "dwell", {{"seconds", s}}, viewer_field(body));
        send_json(r, {{"recorded", true}});
      });
    });
    h.Get(sid + "/export", [this](const httplib::Request& q, httplib::Response& r) {
      guarded(r, [&] {
        const std::string id = q.matches[1];
        const std::string format = q.has_param("format") ? q.get_param_value("format") : "json";
        const Story st = store_.story(id);
        const auto all = store_.passages(id);
        if (format == "json") {
          r.set_content(tree_json(st, all).dump(2), "application/json");
        } else if (format == "twee") {
          r.set_content(twee(st, all), "text/plain; charset=utf-8");
          r.set_header("Content-Disposition", "attachment; filename=\"" + id + ".twee\"");
        } else if (format == "fountain") {
          r.set_content(fountain(st, path_in(all, st.current)), "text/plain; charset=utf-8");
          r.set_header("Content-Disposition", "attachment; filename=\"" + id + ".fountain\"");
        } else {
          serving::bad_field("format", "'" + format + "' is not one of twee, fountain, json");
        }
      });
    });
    // The web player: static files compiled into the binary.
    for (const auto& asset : player_assets()) {
      const std::string name = asset.name;
      const std::string route = name == "index.html" ? "/" : "/" + name;
      const PlayerAsset* a = &asset;
      h.Get(route, [a](const httplib::Request&, httplib::Response& r) {
        r.set_content(std::string(a->data, a->size), a->content_type);
      });
    }
  }

 private:
  serving::Server& server_;
  Store& store_;
  const runtime::SceneClassifier* classifier_;
  const personalisation::FeatureSpace space_;
};

StoryRoutes::StoryRoutes(serving::Server& server, Store& store, const runtime::SceneClassifier* classifier)
    : api_(std::make_unique<Api>(server, store, classifier)) {
  api_->routes();
}

StoryRoutes::~StoryRoutes() = default;

}  // namespace plotforge::stories
