#!/usr/bin/env bash
# Makes a release of factory from a version tag: checks dist/ is a fresh bundle of the sources and .github/workflows/
# holds byte copies of workflows/, writes the release notes (the commits since the previous version tag), and moves
# the major tag (v1) that other repos call the actions and reusable workflows at.
#   scripts/release.sh v1.2.3 [--dry-run] [--push] [--notes FILE]
# --dry-run checks and prints what it would do, changing nothing; --push pushes the moved major tag to origin.
# BUNDLE_CMD (default: npm run bundle) rebuilds dist/.
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

if [ -n "$dry_run" ]; then
  release_notes
  echo "release: would move $major from $(git rev-parse -q --verify "refs/tags/$major^{commit}" || echo nothing) to $commit${push:+ and push it}"
  exit 0
fi
release_notes > "$notes"
git tag -f -a "$major" -m "factory $tag" "$commit" >/dev/null
echo "release: $major now points at $tag ($commit); notes in $notes"
if [ -n "$push" ]; then
  git push --force origin "refs/tags/$major"
fi
