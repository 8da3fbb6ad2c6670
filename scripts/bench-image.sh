# The benchmarks' image, sourced by scripts/bench-registry and
# scripts/bench-explain: image-budget-bench/big:v1, ~800 MB, 4 COPY layers of
# 1000 files. Needs $work (a scratch directory), say and die, and openssl.
# Sets generator_pid while the random stream runs (the caller's cleanup kills it).

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

