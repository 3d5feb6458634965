#!/usr/bin/env bash
# Makes a release of factory from a version tag (v1.2.3, which the actions and workflows are called at too): checks
# dist/ is a fresh bundle of the sources and .github/workflows/ holds byte copies of workflows/, checks CHANGELOG.md
# has a section for the version, writes the release notes (the commits since the previous version tag), makes the
# installable package (release/factory-VERSION.tgz, scripts/release-package.sh) and the controller image
# (factory/controller:VERSION from deploy/Dockerfile), and moves the major tag (v1) other repos call the actions and
# reusable workflows at. It refuses a deploy image whose base is not pinned by digest (deploy/Dockerfile's
# ARG NODE_BASE, deploy/compose.yml's NODE_BASE).
#   scripts/release.sh v1.2.3 [--dry-run] [--push] [--notes FILE]
# --dry-run checks and prints what it would do, changing nothing; --push pushes v1.2.3 and the moved major tag.
# BUNDLE_CMD (default: npm run bundle) rebuilds dist/; PACKAGE_CMD (default: scripts/release-package.sh release) and
# IMAGE_CMD (default: docker build -f deploy/Dockerfile -t factory/controller:VERSION .) make the two artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-}"; shift || true
dry_run=""; push=""; notes="release-notes.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --push) push=1 ;;
    --notes) notes="$2"; shift ;;
    *) echo "release: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "release: $*" >&2; exit 1; }
[[ "$tag" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "usage: scripts/release.sh vMAJOR.MINOR.PATCH [--dry-run] [--push] [--notes FILE]" >&2; exit 2; }
major="v${BASH_REMATCH[1]}"
version="${tag#v}"

commit="$(git rev-parse -q --verify "refs/tags/$tag^{commit}")" || fail "no tag $tag here (git tag $tag, then run this)"
[ "$(git rev-parse HEAD)" = "$commit" ] || fail "HEAD is not $tag: check out the tag first (git checkout $tag)"
[ -z "$(git status --porcelain)" ] || fail "the work tree has changes; a release is made from a clean checkout of its tag"

package_version="$(node -p "require('./package.json').version")"
[ "$package_version" = "$version" ] || fail "package.json says $package_version, the tag says $version"

# The deploy image's base by digest: a tag alone is whatever the registry serves on the day someone builds it.
pinned='^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}$'
dockerfile_base="$(sed -n 's/^ARG NODE_BASE=//p' deploy/Dockerfile 2>/dev/null || true)"
# shellcheck disable=SC2016 # the literal ${NODE_BASE:-...} of the compose file, not an expansion here
compose_base="$(sed -n 's/^ *NODE_BASE: "\${NODE_BASE:-\(.*\)}"$/\1/p' deploy/compose.yml 2>/dev/null || true)"
how_to_pin() {
  local image="${1%%@*}"
  echo "on a machine with registry access run: docker buildx imagetools inspect ${image:-node:24-bookworm-slim}; then set ARG NODE_BASE in deploy/Dockerfile and NODE_BASE in deploy/compose.yml to ${image:-node:24-bookworm-slim}@sha256:<the Digest it prints>, commit, and tag again"
}
[ -n "$dockerfile_base" ] || fail "deploy/Dockerfile has no ARG NODE_BASE=NAME:TAG@sha256:DIGEST line for its base image"
[[ "$dockerfile_base" =~ $pinned ]] || fail "deploy/Dockerfile's base $dockerfile_base is not pinned by digest: $(how_to_pin "$dockerfile_base")"
[ "$compose_base" = "$dockerfile_base" ] || fail "deploy/compose.yml's NODE_BASE (${compose_base:-none}) is not deploy/Dockerfile's $dockerfile_base: set both to the same pinned base"
while read -r _ from _; do
  # shellcheck disable=SC2016 # the Dockerfile's own ${NODE_BASE}, compared as text
  [ "$from" = '${NODE_BASE}' ] || [[ "$from" =~ $pinned ]] || fail "deploy/Dockerfile builds FROM $from, which is neither \${NODE_BASE} nor pinned by digest"
done < <(grep -E '^FROM ' deploy/Dockerfile)

# The actions run from dist/: a bundle that does not match the sources would release code nobody reviewed.
bash -c "${BUNDLE_CMD:-npm run bundle}" >/dev/null
if [ -n "$(git status --porcelain -- dist/)" ]; then
  git status --short -- dist/ >&2
  git checkout -q -- dist/ && git clean -qfd -- dist/
  fail "dist/ is not a fresh bundle of $tag: run npm run bundle and commit dist/ before tagging"
fi

# Other repos call .github/workflows/X.yml@v1: each must be the reviewed source in workflows/.
for source in workflows/*.yml; do
  cmp -s "$source" ".github/$source" || fail ".github/$source is missing or differs from $source: run npm run workflows:publish and commit"
done

# The changelog says what changed in words; the notes below list the commits.
grep -q "^## $version\$" CHANGELOG.md 2>/dev/null || fail "CHANGELOG.md has no section \"## $version\": rename \"## Unreleased\" to it, commit, and tag again"

previous="$(git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' "$commit^" 2>/dev/null || true)"
range="${previous:+$previous..}$commit"
release_notes() {
  echo "## factory $tag"
  echo
  echo "${previous:+Changes since $previous:}${previous:-First release.}"
  echo
  git log --no-merges --format='- %s (%h)' "$range"
  echo
  echo "Workflows and actions: \`uses: ainative-academy/factory/...@$major\` follows this release."
}

package_cmd="${PACKAGE_CMD:-scripts/release-package.sh release}"
image_cmd="${IMAGE_CMD:-docker build -q -f deploy/Dockerfile -t factory/controller:$version .}"
if [ -n "$dry_run" ]; then
  release_notes
  echo "release: would make the package: $package_cmd"
  echo "release: would build the controller image: $image_cmd"
  echo "release: would move $major from $(git rev-parse -q --verify "refs/tags/$major^{commit}" || echo nothing) to $commit${push:+ and push $tag and $major}"
  exit 0
fi
release_notes > "$notes"
package="$(bash -c "$package_cmd" | tail -1)" || fail "the package did not build: $package_cmd"
echo "release: package $package"
bash -c "$image_cmd" >/dev/null || fail "the controller image did not build: $image_cmd"
echo "release: image factory/controller:$version"
git tag -f -a "$major" -m "factory $tag" "$commit" >/dev/null
echo "release: $major now points at $tag ($commit); notes in $notes"
if [ -n "$push" ]; then
  git push origin "refs/tags/$tag"
  git push --force origin "refs/tags/$major"
fi
