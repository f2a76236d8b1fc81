# Sourced by the benchmark scripts: start_server DIR ARGS... starts
# `$RUN serve ARGS... --port 0` on loopback with its output in DIR/out and
# DIR/err, waits until it prints its URL, and sets `pid` and `url`. A
# server that does not come up is an error with its log.
start_server() {
  local dir=$1
  shift
  $RUN serve "$@" --port 0 > "$dir/out" 2> "$dir/err" &
  pid=$!
  for _ in $(seq 600); do grep -q ' at http' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.* at \(http[^ ]*\)$/\1/p' "$dir/out")
  [ -n "$url" ] || { echo "the server did not start (plotforge-run serve $*):" >&2; cat "$dir/err" >&2; exit 1; }
}
