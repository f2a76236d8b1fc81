#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 60), seeded with the bundled corpus and files plotforge
# writes.
# usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cmake -S . -B build-fuzz -G Ninja -DPLOTFORGE_FUZZ=ON -DPLOTFORGE_WITH_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target fountain_fuzz jsonl_fuzz safetensors_fuzz sentencepiece_fuzz bundle_config_fuzz hf_llama_fuzz \
  completion_request_fuzz story_request_fuzz analytics_fuzz interactions_fuzz
mkdir -p build-fuzz/seeds/fountain build-fuzz/seeds/jsonl
cp data/sample/*.fountain build-fuzz/seeds/fountain/
printf '%s\n' '{"title": "T", "genre": ["drama", "a,b"], "text": "x", "beats": [{"beat": "climax", "text": "y"}]}' \
  > build-fuzz/seeds/jsonl/one.jsonl
build-fuzz/fuzz/fountain_fuzz -max_total_time="$secs" -max_len=65536 -timeout=10 build-fuzz/seeds/fountain
build-fuzz/fuzz/jsonl_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 build-fuzz/seeds/jsonl
mkdir -p build-fuzz/seeds/safetensors
python3 - build-fuzz/seeds/safetensors/one.safetensors <<'PY'
import json, struct, sys
h = json.dumps({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}, "__metadata__": {"k": "v"}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + bytes(22))
PY
build-fuzz/fuzz/safetensors_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 build-fuzz/seeds/safetensors
# Seeds: one model of each kind plotforge tokenizer train writes, from
# Debian's spm_train on the sample corpus.
mkdir -p build-fuzz/seeds/sentencepiece
cat data/sample/*.fountain > build-fuzz/seeds/sample.txt
for kind in unigram bpe char; do
  spm_train --input=build-fuzz/seeds/sample.txt --model_prefix=build-fuzz/seeds/sentencepiece/$kind \
    --model_type=$kind --vocab_size=400 --hard_vocab_limit=false --byte_fallback=true --normalization_rule_name=identity \
    --add_dummy_prefix=false --remove_extra_whitespaces=false --minloglevel=2 >/dev/null 2>&1
  rm -f build-fuzz/seeds/sentencepiece/$kind.vocab
done
build-fuzz/fuzz/sentencepiece_fuzz -max_total_time="$secs" -max_len=65536 -timeout=10 build-fuzz/seeds/sentencepiece
# Seeds: a Transformer bundle's config.json, a VAE bundle's plotforge section
# and a GAN bundle's gan.json, as plotforge export writes them.
mkdir -p build-fuzz/seeds/bundle_config
python3 - build-fuzz/seeds/bundle_config <<'PY'
import json, sys
d = sys.argv[1]
llama = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "intermediate_size": 192, "max_position_embeddings": 128, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
         "tie_word_embeddings": False, "vocab_size": 400, "eos_token_id": 2}
json.dump(llama, open(d + "/config.json", "w"))
json.dump(dict(llama, latent=8, encoder_layers=0, beta_max=0.1, cycles=4, zero_ratio=0.5, ramp_ratio=0.25,
               free_bits=0.25, mu_scale=0.6, offset_init=0.02, init_decoder="", scene_windows=True),
          open(d + "/vae.json", "w"))
json.dump({"model_kind": "gan", "latent": 8, "noise": 32, "hidden": 16, "layers": 3, "n_genres": 2, "genre_dim": 16,
           "genres": ["comedy", "tragedy"], "negative_slope": 0.2}, open(d + "/gan.json", "w"))
PY
build-fuzz/fuzz/bundle_config_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 build-fuzz/seeds/bundle_config
# Seeds: a config.json as transformers' LlamaConfig writes it, and a
# sharded model's index.
mkdir -p build-fuzz/seeds/hf_llama
python3 - build-fuzz/seeds/hf_llama <<'PY'
import json, sys
d = sys.argv[1]
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 192,
           "max_position_embeddings": 128, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "rope_scaling": None,
           "attention_bias": False, "mlp_bias": False, "hidden_act": "silu", "pretraining_tp": 1,
           "tie_word_embeddings": True, "vocab_size": 400, "bos_token_id": 1, "eos_token_id": 2,
           "torch_dtype": "float32"}, open(d + "/config.json", "w"))
json.dump({"metadata": {"total_size": 1024},
           "weight_map": {"model.embed_tokens.weight": "model-00001-of-00001.safetensors",
                          "model.norm.weight": "model-00001-of-00001.safetensors"}}, open(d + "/index.json", "w"))
PY
build-fuzz/fuzz/hf_llama_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 build-fuzz/seeds/hf_llama
# Seeds: completion bodies of every shape the server reads; the target trains
# its tokenizer (with the control tokens) on data/sample the first time.
mkdir -p build-fuzz/seeds/completion_request
python3 - build-fuzz/seeds/completion_request <<'PY'
import json, sys
d = sys.argv[1]
bodies = [{"prompt": "INT. CASTLE", "max_tokens": 8, "temperature": 0.7, "stop": ["\n\n", "END"], "seed": 3},
          {"prompt": [5, 6, 7], "n": 2, "logprobs": 2, "stream": True, "stream_options": {"include_usage": True}},
          {"prompt": ["a", [1, 2]], "genre": "tragedy", "beat": "climax", "emotion": "fear", "top_k": 40,
           "min_p": 0.1, "repetition_penalty": 1.2, "presence_penalty": 0.5, "echo": True, "max_tokens": None}]
for i, b in enumerate(bodies):
    open("%s/%d.json" % (d, i), "w").write(json.dumps(b))
PY
PLOTFORGE_FUZZ_TOKENIZER=build-fuzz/seeds/completion_tok.model \
  build-fuzz/fuzz/completion_request_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 \
  build-fuzz/seeds/completion_request
# Seeds: story branch bodies and passage texts.
mkdir -p build-fuzz/seeds/story_request
printf '%s' '{"node": 3, "k": 4, "max_tokens": 64, "temperature": 0.7, "beat": "climax", "stream": true}' \
  > build-fuzz/seeds/story_request/body.json
cp data/sample/hamlet.fountain build-fuzz/seeds/story_request/
printf '%s' '{"premise": "x", "arc": "icarus", "arc_passages": 6, "viewer": "ann", "personalise": false}' \
  > build-fuzz/seeds/story_request/create.json
printf '%s' '{"arc": [0.5, -0.25, 1], "valence": "negative"}' > build-fuzz/seeds/story_request/arc.json
printf '%s' '{"mean": [0.1, 0, 0, 0, 0, 0, 0], "precision": [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "choices": 1}' \
  > build-fuzz/seeds/story_request/profile.json
printf '%s' '{"valence": 0.5, "intensity": 0.5, "length": 0.1, "novelty": 1, "dialogue": 0.8, "new_voice": 1, "exclamation": 0}' \
  > build-fuzz/seeds/story_request/features.json
PLOTFORGE_FUZZ_TOKENIZER=build-fuzz/seeds/completion_tok.model \
  build-fuzz/fuzz/story_request_fuzz -max_total_time="$secs" -max_len=8192 -timeout=10 \
  build-fuzz/seeds/story_request
# Seeds: event rows (kind, passage, viewer, data, time), good and bad.
mkdir -p build-fuzz/seeds/analytics
printf 'choose\t2\tann\t{"from": 1, "shown": [2, 3]}\t100\nundo\t1\tann\t{"from": 2}\t101\ndwell\t1\tbob\t{"seconds": 3}\t50\n' \
  > build-fuzz/seeds/analytics/rows.tsv
printf 'choose\t99\t\tnot json\t-1\nchoose\t3\tx\t{}\t1e308\n' > build-fuzz/seeds/analytics/bad.tsv
build-fuzz/fuzz/analytics_fuzz -max_total_time="$secs" -max_len=2048 -timeout=10 build-fuzz/seeds/analytics
mkdir -p build-fuzz/seeds/interactions
printf 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t10\t4\t881250949\n2\t10\t3\t891717742\n' \
  > build-fuzz/seeds/interactions/recbole.inter
printf 'item,genre,year\n10,Comedy|Romance,1995\n11,Drama,1994\n' > build-fuzz/seeds/interactions/items.csv
build-fuzz/fuzz/interactions_fuzz -max_total_time="$secs" -max_len=4096 -timeout=10 build-fuzz/seeds/interactions
