#!/usr/bin/env bash
# Bundles each action under actions/<name>/src/index.ts into <out>/<name>/index.js (ESM: @actions/core@3 and
# @actions/github@9 are ESM-only) with ncc. `npm run bundle` writes dist/; the dist test bundles into a temp
# directory and compares, so a stale dist/ fails the suite. The actions are bundled side by side (each ncc is one
# TypeScript compile on one core), and any that fails fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
pids=()
for entry in actions/*/src/index.ts; do
  name="$(basename "$(dirname "$(dirname "$entry")")")"
  # ncc writes into the directory without emptying it; a file an earlier build left would ship with the action.
  rm -rf "${out:?}/$name"
  npx --no-install ncc build "$entry" -o "$out/$name" --license licenses.txt --quiet &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit "$failed"
