#!/usr/bin/env bash
# Builds the local Debian base that stands in for ubuntu:24.04 where no image registry is reachable: debootstrap
# makes a minimal rootfs from Debian's package archive and `docker import` turns it into an image. Skipped when the
# tag already exists, so a machine builds it once.
#   scripts/build-debian-base.sh [TAG]     (default factory-local/debian:bookworm)
set -euo pipefail
tag=${1:-factory-local/debian:bookworm}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "have $tag"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap not found: apt-get install -y debootstrap" >&2; exit 1; }
rootfs=$(mktemp -d /var/tmp/factory-debian.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"
# An image's apt lists and caches are rebuilt by the first `apt-get update`; they only make the import larger.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
  "$mirror" "$suite" "$mirror" "$suite" "$suite" >"$rootfs/etc/apt/sources.list"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $suite" - "$tag" >/dev/null
echo "built $tag"
