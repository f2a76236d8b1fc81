#!/usr/bin/env bash
# Fails if a room includes a header from a room after it in the data flow
# (README's Layout): base, kernels -> datasets, emotion -> models -> training -> eval
# -> inference -> serving, personalisation -> stories, viewers -> analytics -> programs. tests/, bench/ and fuzz/ may include anything.
set -euo pipefail
cd "$(dirname "$0")/.."
rank() {
  case $1 in
    base) echo 0 ;; kernels) echo 0 ;; datasets) echo 1 ;; emotion) echo 1 ;; models) echo 2 ;; training) echo 3 ;;
    eval) echo 4 ;; recommendation) echo 4 ;; inference) echo 5 ;; serving) echo 6 ;; personalisation) echo 6 ;; stories) echo 7 ;; viewers) echo 7 ;; analytics) echo 8 ;; programs) echo 9 ;; *) echo "" ;;
  esac
}
bad=0
checked=0
for room in base kernels datasets emotion models training eval recommendation inference serving personalisation stories viewers analytics programs; do
  r=$(rank $room)
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -n 's/.*#include "\([a-z_]*\)\/.*/\1/p' <<<"$line")
    [ -n "$inc" ] || continue
    ri=$(rank "$inc")
    [ -n "$ri" ] || continue
    checked=$((checked + 1))
    # kernels/ sits at the bottom beside base/: it may include base/ only.
    if [ "$ri" -gt "$r" ] || { [ $room = kernels ] && [ "$inc" != base ] && [ "$inc" != kernels ]; } ||
       { [ $room = base ] && [ "$inc" != base ]; }; then
      echo "against the flow: $file includes $inc/ (${line#*:})" >&2
      bad=1
    fi
  done < <(grep -rn --include='*.cc' --include='*.h' --include='*.cu' --include='*.cuh' '#include "' $room)
done
[ $bad -eq 0 ] || exit 1
echo "ok: $checked includes between rooms, all along the flow"
