# What the benchmarks share (sourced by scripts/bench-registry, bench-explain
# and bench-scale): the big image, image-budget-bench/big:v1 (~800 MB, 4 COPY
# layers of 1000 files), and a loopback docker-registry with its access log.
# Needs $work (a scratch directory), say and die, and openssl. Sets
# generator_pid while the random stream runs and registry_pid while the
# registry does (the caller's cleanup kills them).

# Fill $1 with 4 layer directories of 1000 files each, ~800 MB in all: per
# layer 960 files of 0.5-80 KiB and 40 of 2-6 MiB. About 40% of the files are
# log-like text (gzip: ~5x smaller), the rest AES-CTR output (incompressible).
# The same files every time (fixed seed and key, mtimes at 0); the layer
# digests can still differ between builds (COPY makes /data with the time).
generate_context() {
  local ctx=$1 layer i size kind dir total=0 pool=$1/.pool pool_size offset rand_fd
  # A pool of text to cut the text files from.
  awk 'BEGIN {
    for (i = 0; i < 140000; i++)
      printf "%08d 2024-03-%02d 12:%02d:%02d INFO api request path=/v1/items/%d user=%d status=%d bytes=%d ms=%d\n",
        i, i % 28 + 1, (i / 60) % 60, i % 60, (i * 7919) % 100000, (i * 31) % 977,
        (i % 17 ? 200 : 404), (i * 37) % 65536, (i * 13) % 250
  }' >"$pool"
  pool_size=$(stat -c %s "$pool")
  exec {rand_fd}< <(exec openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
    -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null)
  generator_pid=$!
  RANDOM=20240301
  for layer in 1 2 3 4; do
    for ((i = 0; i < 1000; i++)); do
      if ((i % 25 == 0)); then
        size=$((2097152 + RANDOM * 128)) # 2-6 MiB
      else
        size=$((512 + RANDOM * 5 / 2)) # 0.5-80 KiB
      fi
      if ((RANDOM % 5 < 2)); then kind=txt; else kind=bin; fi
      dir=$ctx/layer$layer/d$((i / 100))
      [[ -d $dir ]] || mkdir -p "$dir"
      if [[ $kind == txt ]]; then
        offset=$(((RANDOM * 32768 + RANDOM) % (pool_size - size)))
        dd if="$pool" of="$dir/f$i.txt" bs=1M iflag=skip_bytes,count_bytes \
          skip="$offset" count="$size" status=none
      else
        head -c "$size" <&"$rand_fd" >"$dir/f$i.bin"
      fi
      total=$((total + size))
    done
  done
  exec {rand_fd}<&-
  kill "$generator_pid" 2>/dev/null || true
  generator_pid=
  rm -f "$pool"
  printf 'FROM scratch\nCOPY layer1 /data/layer1\nCOPY layer2 /data/layer2\nCOPY layer3 /data/layer3\nCOPY layer4 /data/layer4\n' >"$ctx/Dockerfile"
  find "$ctx" -exec touch -h -d @0 {} +
  say "generated 4000 files, $((total / 1000000)) MB"
}

build_image() {
  local ctx=$work/context t0 t1
  mkdir -p "$ctx"
  say "building $image (~800 MB, once; later runs reuse it)"
  t0=$(now)
  generate_context "$ctx"
  t1=$(now)
  say "generated the build context in $(elapsed "$t0" "$t1")s"
  # Keep errors, drop the legacy builder's deprecation banner (stdout: image id).
  if ! docker build -q -t "$image" "$ctx" 2>&1 >/dev/null |
    { grep -v -E 'legacy builder is deprecated|BuildKit is currently disabled|^ +environment-variable\.$|Install the buildx component|docs\.docker\.com/go/buildx|^$' >&2 || true; }; then
    die "docker build of $image failed"
  fi
  rm -rf "$ctx"
  say "built $image in $(elapsed "$t0" "$(now)")s (docker build: $(elapsed "$t1" "$(now)")s)"
}

# --- the registry ----------------------------------------------------------

registry_log=$work/registry/registry.log
host=
start_registry() {
  local attempt port deadline
  for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 40000))
    # Something answers there: try another port.
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    rm -rf "$work/registry"
    mkdir -p "$work/registry"
    # As tests/common/registry.rs configures it.
    cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    docker-registry serve "$work/registry/config.yml" </dev/null >"$registry_log" 2>&1 &
    registry_pid=$!
    deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)) && kill -0 "$registry_pid" 2>/dev/null; do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
        host=127.0.0.1:$port
        return 0
      fi
      sleep 0.1
    done
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=
    say "docker-registry did not start (attempt $attempt); its log:"
    tail -n 10 "$registry_log" >&2 || true
  done
  return 1
}

# --- the access log --------------------------------------------------------

# Lines in the registry log so far: a run's requests are those after it.
log_lines() { wc -l <"$registry_log"; }

# The access-log lines after line $1 of requests whose user agent starts with
# $2, as "METHOD PATH STATUS BYTES" (Apache combined format, which distribution
# 2.8 writes besides its logrus line:
#   127.0.0.1 - - [01/Dec/2026:09:32:21 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "image-budget/0.1.0"
requests_after() {
  local from=$1 agent=$2
  sleep 0.3 # the registry logs a request after answering it
  tail -n "+$((from + 1))" "$registry_log" |
    sed -n -E 's/^[^ ]+ [^ ]+ [^ ]+ \[[^]]*\] "([A-Z]+) ([^ "]*) HTTP\/[0-9.]+" ([0-9]{3}) ([0-9]+|-) "[^"]*" "([^"]*)"$/\5\t\1 \2 \3 \4/p' |
    awk -F '\t' -v agent="$agent" 'index($1, agent) == 1 { print $2 }'
}
# From "METHOD PATH STATUS BYTES" lines: the bytes sent for /blobs/ paths.
blob_bytes() { awk '$2 ~ /\/blobs\// && $4 != "-" { n += $4 } END { printf "%d\n", n }'; }
# ... and the requests other than the /v2/ ping (and token requests, if any).
counted_requests() { awk '$2 != "/v2/" && $2 !~ /token/ { n++ } END { printf "%d\n", n }'; }
