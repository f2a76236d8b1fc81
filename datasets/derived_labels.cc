#include "datasets/derived_labels.h"

#include <algorithm>
#include <stdexcept>

#include "datasets/annotations.h"

namespace plotforge {

namespace {

void check(const std::string& name, const std::vector<std::string>& vocab, const char* what) {
  if (name != "none" && std::find(vocab.begin(), vocab.end(), name) == vocab.end()) {
    throw std::logic_error(std::string("derive_scene_labels: the labeler answered an unknown ") + what + " '" + name +
                           "'");
  }
}

}  // namespace

void derive_scene_labels(Document& doc, const SceneLabeler& labeler) {
  std::string text;
  text.reserve(doc.text.size() + doc.scenes.size() * 24);
  std::size_t copied = 0;  // doc.text is copied up to here
  for (SceneSpan& s : doc.scenes) {
    const std::size_t line_end = doc.text.find('\n', s.begin);
    const std::size_t body = line_end == std::string::npos || line_end >= s.end ? s.end : line_end + 1;
    const DerivedLabels d = labeler(std::string_view(doc.text).substr(body, s.end - body));
    check(d.valence, valence_vocabulary(), "valence");
    check(d.emotion, emotion_vocabulary(), "emotion");
    text.append(doc.text, copied, s.begin - copied);
    const std::size_t begin = text.size();
    s.valence = d.valence;
    if ((s.emotion == "none" || s.emotion_derived) && d.emotion != "none") {
      s.emotion = d.emotion;
      s.emotion_derived = true;
    }
    text += scene_line(s);
    text.append(doc.text, body, s.end - body);
    copied = s.end;
    s.begin = begin;
    s.end = text.size();
  }
  text.append(doc.text, copied, std::string::npos);
  doc.text = std::move(text);
}

}  // namespace plotforge
