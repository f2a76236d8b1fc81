#!/usr/bin/env bash
# The genre fine-tuning study of docs/finetuning.md, the one a studio would
# run: a base Transformer trained on the plays and the modern screenplays,
# fine-tuned on the comedies fully and with LoRA (rank 8 and 16), each
# evaluated on held-out comedies and held-out tragedies (perplexity;
# forgetting on the tragedies) and on the scene classifier's genre
# adherence of its samples, with the time each took and the size of what
# it ships. Held out of every training set: three comedies and two
# tragedies, whole plays.
#
#   scripts/study_genre_finetune.sh [WORKDIR]     (default runs/genre-study)
#
# Settings (environment): BASE_STEPS (1200), FT_STEPS (300), FULL_LR (3e-4),
# LORA_LR (2e-3), LORA_TARGETS (q_proj,v_proj), SAMPLES (24 per corpus).
# Re-running resumes each model from its newest checkpoint and redoes the
# evaluations, then writes WORKDIR/report.md and WORKDIR/genre-study.png
# (scripts/plot_genre_study.py).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-runs/genre-study}
SRC=${CORPORA:-../shared/corpora}
PF=build/bin/plotforge
BASE_STEPS=${BASE_STEPS:-1200}
FT_STEPS=${FT_STEPS:-300}
FULL_LR=${FULL_LR:-3e-4}
LORA_LR=${LORA_LR:-2e-3}
LORA_TARGETS=${LORA_TARGETS:-q_proj,v_proj}
SAMPLES=${SAMPLES:-24}
[ -x $PF ] || { echo "build first: cmake -S . -B build -G Ninja && cmake --build build" >&2; exit 1; }
[ -d "$SRC/shakespeare" ] || { echo "$SRC/shakespeare: no such directory; set CORPORA=DIR" >&2; exit 1; }
HELD_COMEDY="twelfth_night much_ado asyoulikeit"
HELD_TRAGEDY="macbeth othello"
mkdir -p "$W/plays" "$W/comedies" "$W/held-comedy" "$W/held-tragedy"
for f in "$SRC"/shakespeare/*.fountain; do
  n=$(basename "$f" .fountain)
  genre=$(sed -n 's/^Genre: *//p' "$f" | head -1)
  case " $HELD_COMEDY " in *" $n "*) cp "$f" "$W/held-comedy/"; continue ;; esac
  case " $HELD_TRAGEDY " in *" $n "*) cp "$f" "$W/held-tragedy/"; continue ;; esac
  cp "$f" "$W/plays/"
  [ "$genre" = comedy ] && cp "$f" "$W/comedies/"
done
cp "$SRC"/screenplays/*.fountain "$W/plays/"
[ -f "$W/tok.model" ] || $PF tokenizer train --input "$W/plays" --out "$W/tok.model" --vocab-size 2000
prep() {  # NAME DIR VAL_FRACTION
  [ -f "$W/$1.h5" ] || $PF prepare --input "$2" --tokenizer "$W/tok.model" --out "$W/$1.h5" --val-fraction "$3" --quiet
}
prep base "$W/plays" 0.05
prep comedies "$W/comedies" 0.07
prep held-comedy "$W/held-comedy" 0.99
prep held-tragedy "$W/held-tragedy" 0.99
train() {  # NAME CONFIG DATA [options]
  local name=$1 config=$2 data=$3
  shift 3
  echo "== $name"
  $PF train --config "$config" --data "$W/$data.h5" --out "$W/$name" --resume --log-every 50 "$@"
}
train classifier configs/scenes-classifier.ini base
train base configs/genre-base.ini base --max-steps "$BASE_STEPS"
ft=(--init-from "$W/base" --max-steps "$FT_STEPS" --warmup-steps 20 --eval-every 100 --checkpoint-every 100)
train full configs/genre-base.ini comedies "${ft[@]}" --lr "$FULL_LR" --min-lr "$(python3 -c "print($FULL_LR/10)")"
for r in 8 16; do
  train lora-r$r configs/genre-base.ini comedies "${ft[@]}" --lr "$LORA_LR" --min-lr "$(python3 -c "print($LORA_LR/10)")" \
    --lora.rank $r --lora.alpha $((2 * r)) --lora.targets "$LORA_TARGETS"
done
for m in base full lora-r8 lora-r16; do
  for held in held-comedy held-tragedy; do
    echo "== eval $m on $held"
    $PF eval --data "$W/$held.h5" --out "$W/eval/$m/$held" --transformer "$W/$m" --classifier "$W/classifier" \
      --samples "$SAMPLES" --temperatures 1.0 --max-new-tokens 120 --quiet
  done
done
mkdir -p "$W/ship"
[ -d "$W/ship/base" ] || $PF export --checkpoint "$W/base" --out "$W/ship/base"
[ -d "$W/ship/full" ] || $PF export --checkpoint "$W/full" --out "$W/ship/full"
for m in lora-r8 lora-r16; do
  [ -d "$W/ship/$m" ] || $PF export --checkpoint "$W/$m" --out "$W/ship/$m" --format peft --base-bundle "$W/ship/base"
done
python3 scripts/plot_genre_study.py "$W"
