#!/usr/bin/env bash
# The image-budget action's first step: names this config's cached baseline.
#
# Writes to $GITHUB_OUTPUT:
#   scope       the config and comment id, as a cache-key part: two configs (or
#               two comment ids) of one repository keep two baselines
#   merge-base  on a pull request, the commit its branch left the base branch at
#               (empty when git cannot tell, as in a shallow clone): the restore
#               step asks for main's report of exactly that commit first
#   file        where the baseline report is restored to and saved from: a
#               path relative to the workspace, since actions/cache matches a
#               cache by its key and by the paths as written (runner.temp can
#               differ from run to run; a relative path never does)
set -uo pipefail

raw="${INPUT_CONFIG:-budgets.toml}@${INPUT_COMMENT_ID:-default}"
# Cache keys may not hold commas: readable, bounded, and told apart by a hash.
hash="$(printf '%s' "$raw" | sha256sum | cut -c1-8)"
scope="$(printf '%s' "$raw" | tr -c 'A-Za-z0-9._@-' '_' | cut -c1-60)-$hash"
merge_base=""
if [ -n "${GITHUB_BASE_REF:-}" ]; then
  for ref in "origin/$GITHUB_BASE_REF" "$GITHUB_BASE_REF"; do
    if merge_base="$(git merge-base HEAD "$ref" 2>/dev/null)" && [ -n "$merge_base" ]; then
      break
    fi
    merge_base=""
  done
fi
{
  echo "scope=$scope"
  echo "merge-base=$merge_base"
  echo "file=.image-budget/baseline/$scope/main.json"
} >>"${GITHUB_OUTPUT:-/dev/null}"
