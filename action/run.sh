#!/usr/bin/env bash
# The image-budget action's step (action.yml): installs `budget`, runs
# `budget check` with the action's inputs, which arrive only as INPUT_*
# environment variables, and records exit-code, passed and report-path in
# $GITHUB_OUTPUT. Exits with budget's status, or 0 for 1 under no-fail.
#
# IMAGE_BUDGET_BIN: use this binary, install nothing (tests, self-hosted runners).
# IMAGE_BUDGET_REPOSITORY: the action's owner/name, where `version` downloads from.
# IMAGE_BUDGET_BASELINE_KEY: set when a cached default-branch report was restored,
# to IMAGE_BUDGET_BASELINE_FILE (action/baseline-key.sh names it).
set -uo pipefail

die() {
  echo "::error title=image-budget::$*"
  exit 2
}

truthy() {
  case "$1" in
    true | True | TRUE | yes | 1) return 0 ;;
    "" | false | False | FALSE | no | 0) return 1 ;;
    *) die "no-fail must be true or false, not '$1'" ;;
  esac
}

: "${RUNNER_TEMP:?RUNNER_TEMP is not set: run this script as the image-budget action}"
work="$RUNNER_TEMP/image-budget"
mkdir -p "$work" || die "cannot create $work"

# --- the binary --------------------------------------------------------------
# A release binary, checksum-verified: the version input, else the action's own
# tag (uses: OWNER/image-budget@v1.2.0). From source only when asked
# (install: source), when there is no version to take, or when the action's
# tag has no release. The download never runs code, and the source build runs
# with no token in its environment.
install="${INPUT_INSTALL:-auto}"
case "$install" in
  auto | release | source) ;;
  *) die "install must be auto, release or source, not '$install'" ;;
esac

# Downloads and verifies release $1; returns 3 when there is no such release.
install_release() {
  local version="${1#v}" repo="${IMAGE_BUDGET_REPOSITORY:-}" target
  case "$version" in
    *[!0-9A-Za-z.+-]*) die "version '$1' is not a release number such as 1.2.0" ;;
  esac
  [ -n "$repo" ] || die "a release needs the action's repository (github.action_repository is empty with uses: ./); set install: source"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
    *) die "release binaries are built for Linux x86_64 and aarch64; set install: source to build with cargo on $(uname -s) $(uname -m)" ;;
  esac
  local asset="budget-$target.tar.gz"
  local url="${IMAGE_BUDGET_DOWNLOAD_URL:-https://github.com}/$repo/releases/download/v$version/$asset"
  local dir="$work/v$version"
  { rm -rf "$dir" && mkdir -p "$dir/bin"; } || die "cannot create $dir"
  curl --fail --silent --show-error --location --retry 3 -o "$dir/$asset" "$url" || {
    echo "budget: could not download $url" >&2
    return 3
  }
  curl --fail --silent --show-error --location --retry 3 -o "$dir/$asset.sha256" "$url.sha256" ||
    die "could not download $url.sha256; not running an unverified binary"
  # The .sha256 file holds the digest, maybe followed by a name: check the
  # digest against the file downloaded here, whatever name it gives.
  local expected
  expected="$(head -c 64 "$dir/$asset.sha256")"
  case "$expected" in
    *[!0-9a-f]* | "") die "$url.sha256 holds no SHA-256 digest" ;;
  esac
  [ "${#expected}" -eq 64 ] || die "$url.sha256 holds no SHA-256 digest"
  (cd "$dir" && echo "$expected  $asset" | sha256sum -c --status -) ||
    die "checksum mismatch: $asset does not match $asset.sha256; not running it"
  tar -xzf "$dir/$asset" -C "$dir/bin" || die "could not unpack $asset"
  budget="$(find "$dir/bin" -type f -name budget | head -n 1)"
  [ -n "$budget" ] || die "$asset holds no budget binary"
  chmod +x "$budget"
}

install_source() {
  : "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
  echo "::group::cargo install image-budget from $GITHUB_ACTION_PATH"
  # Build scripts of every dependency run here: none of them sees a token.
  # The target directory is kept in the Actions cache between runs.
  env -u GITHUB_TOKEN -u INPUT_GITHUB_TOKEN -u ACTIONS_RUNTIME_TOKEN \
    -u ACTIONS_ID_TOKEN_REQUEST_TOKEN -u ACTIONS_ID_TOKEN_REQUEST_URL \
    CARGO_TARGET_DIR="$work/target" \
    cargo install --locked --path "$GITHUB_ACTION_PATH" --root "$work" ||
    die "cargo install failed; set the version input to use a release binary"
  echo "::endgroup::"
  budget="$work/bin/budget"
  echo "built-from-source=true" >>"${GITHUB_OUTPUT:-/dev/null}"
}

if [ -n "${IMAGE_BUDGET_BIN:-}" ]; then
  budget="$IMAGE_BUDGET_BIN"
elif [ "$install" = source ]; then
  install_source
else
  version="${INPUT_VERSION:-}"
  from_tag=0
  if [ -z "$version" ] && [[ ${IMAGE_BUDGET_ACTION_REF:-} =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    version="$IMAGE_BUDGET_ACTION_REF"
    from_tag=1
  fi
  if [ -n "$version" ]; then
    install_release "$version"
    found=$?
    if [ "$found" -ne 0 ]; then
      if [ "$from_tag" -eq 1 ] && [ "$install" = auto ]; then
        echo "::warning title=image-budget::no release binary for the action's tag $version; building from source"
        install_source
      else
        die "there is no release $version of budget to download; check the version input"
      fi
    fi
  elif [ "$install" = release ]; then
    die "install: release needs a version: the version input, or the action used at a release tag (uses: OWNER/image-budget@v1.2.0)"
  else
    install_source
  fi
fi
# Later steps may call budget too (budget report, budget publish).
if [ -n "${GITHUB_PATH:-}" ]; then
  dirname -- "$budget" >>"$GITHUB_PATH"
fi

# --- the check ---------------------------------------------------------------
report="${INPUT_OUTPUT:-$work/report.json}"
case "$report" in
  *$'\n'* | *$'\r'*) die "output must be a file name on one line" ;;
esac
format="${INPUT_FORMAT:-table}"

args=(check --config "${INPUT_CONFIG:-budgets.toml}" --format json --output "$report")
baseline="${INPUT_BASELINE:-}"
restored="${IMAGE_BUDGET_BASELINE_FILE:-$RUNNER_TEMP/image-budget-baseline/main.json}"
if [ -z "$baseline" ] && [ -n "${IMAGE_BUDGET_BASELINE_KEY:-}" ] && [ -f "$restored" ]; then
  baseline="$restored"
  echo "budget: comparing with the default branch's report (cache $IMAGE_BUDGET_BASELINE_KEY)" >&2
fi
[ -z "$baseline" ] || args+=(--baseline "$baseline")
args+=(--comment "${INPUT_COMMENT:-auto}" --comment-id "${INPUT_COMMENT_ID:-default}")
args+=(--comment-when "${INPUT_COMMENT_WHEN:-always}")
[ -z "${INPUT_SHARD:-}" ] || args+=(--shard "$INPUT_SHARD")
# Image names: split on spaces and new lines (a YAML block lists one per
# line), never globbed; after -- so none reads as a flag.
read -r -d '' -a names <<<"${INPUT_IMAGES:-}" || true
[ "${#names[@]}" -eq 0 ] || args+=(-- "${names[@]}")
# The token goes in the environment, not on the command line (where `ps` shows it).
if [ -n "${INPUT_GITHUB_TOKEN:-}" ]; then
  export GITHUB_TOKEN="$INPUT_GITHUB_TOKEN"
fi
truthy "${INPUT_NO_FAIL:-false}" && no_fail=1 || no_fail=0

rm -f -- "$report" # never a stale report from an earlier step
# --no-fail is applied here, not by budget, so exit-code keeps the verdict.
"$budget" "${args[@]}"
status=$?

if [ -f "$report" ]; then
  if [ "$format" = json ]; then
    cat "$report"
    echo
  else
    "$budget" report "$report" --format "$format" ||
      echo "::warning title=image-budget::could not render the report as $format"
  fi
fi

{
  echo "exit-code=$status"
  if [ "$status" -eq 0 ]; then echo "passed=true"; else echo "passed=false"; fi
  if [ -f "$report" ]; then echo "report-path=$report"; fi
} >>"${GITHUB_OUTPUT:-/dev/null}"

if [ "$status" -eq 1 ] && [ "$no_fail" -eq 1 ]; then
  echo "budget: a budget is exceeded; no-fail is set, so this step passes" >&2
  exit 0
fi
exit "$status"
