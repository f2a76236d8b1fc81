#include "emotion/scene_labels.h"

#include "base/error.h"
#include "datasets/fountain.h"
#include "emotion/arcs.h"

namespace plotforge::emotion {

PassageReading read_passage(std::string_view fountain, const Vader& vader, const EmotionLexicon* lexicon) {
  PassageReading out;
  std::string all;  // the dialogue, for the lexicon
  double sum = 0;
  try {
    const Script script = parse_fountain(fountain, "passage");
    for (std::size_t e = 0; e < script.elements.size(); ++e) {
      if (script.elements[e].type != ElementType::kCharacter) continue;
      const std::string text = speech_text(script, e);
      const int words = count_words(text);
      if (words == 0) continue;
      sum += vader.score(text).compound * words;
      out.words += words;
      all += text + "\n";
    }
  } catch (const InputError&) {
    out.words = 0;  // not Fountain: read it whole below
    sum = 0;
    all.clear();
  }
  if (out.words > 0) {
    out.valence = sum / out.words;
  } else {
    all.assign(fountain);
    out.words = count_words(all);
    out.valence = out.words > 0 ? vader.score(all).compound : 0;
  }
  if (lexicon) out.emotions = lexicon->count(all);
  return out;
}

std::string valence_class(double valence) {
  if (valence >= 0.05) return "positive";
  if (valence <= -0.05) return "negative";
  return "neutral";
}

SceneLabeler scene_labeler(const Vader& vader, const EmotionLexicon* lexicon) {
  return [&vader, lexicon](std::string_view scene) {
    DerivedLabels d;
    const PassageReading r = read_passage(scene, vader, lexicon);
    if (r.words == 0) return d;
    d.valence = valence_class(r.valence);
    if (lexicon) d.emotion = r.emotions.dominant();
    return d;
  };
}

}  // namespace plotforge::emotion
