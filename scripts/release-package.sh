#!/usr/bin/env bash
# Makes the installable controller package: factory-VERSION.tgz with the TypeScript build inside and its production
# dependencies bundled from package-lock.json (one copy of each, type declarations, sources maps and docs left out),
# so `npm install --omit=dev ./factory-VERSION.tgz` needs no registry and `factory --version` works at once.
#   scripts/release-package.sh [OUT_DIR]        (default: release/)
# Dependencies come from npm's cache (--offline): run it where `npm ci` has run, as CI and scripts/setup do.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-release}" && cd "${1:-release}" && pwd)
version=$(node -p "require('./package.json').version")
stage=$(mktemp -d /tmp/factory-package.XXXXXX)
trap 'rm -rf "$stage"' EXIT

npm run build --silent
# The files package.json's "files" names, as npm pack would take them.
npm pack --ignore-scripts --pack-destination "$stage" >/dev/null
tar -xzf "$stage/factory-$version.tgz" -C "$stage"
cp package-lock.json "$stage/package/"
(cd "$stage/package" && npm ci --omit=dev --ignore-scripts --offline --no-audit --no-fund >/dev/null)
# Nothing at run time reads these; they are most of the installed size.
find "$stage/package/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o -name '*.md' -o -name '*.markdown' -o -name '*.ts' \) -delete
node -e '
  const fs = require("fs"), file = process.argv[1], pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.bundleDependencies = Object.keys(pkg.dependencies);
  delete pkg.devDependencies; delete pkg.scripts.prepare; delete pkg.scripts.prepack;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$stage/package/package.json"
rm "$stage/package/package-lock.json"
(cd "$stage/package" && npm pack --ignore-scripts --pack-destination "$out" >/dev/null)
echo "$out/factory-$version.tgz"
