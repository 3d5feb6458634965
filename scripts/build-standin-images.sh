#!/usr/bin/env bash
# Builds the images the demo and the tests run, without any registry:
#   factory-test/busybox:1  docker import of a rootfs holding only Debian's static busybox
#   factory-test/runner:1   the stand-in runner (controller/github/standin/runner-image) FROM it
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=$(command -v busybox || true)
if [ -z "$busybox" ]; then
  echo "busybox not found: install Debian's busybox-static (apt-get install -y busybox-static)" >&2
  exit 1
fi
if ! docker image inspect factory-test/busybox:1 >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/home"
  cp "$busybox" "$rootfs/bin/busybox"
  ln -s busybox "$rootfs/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\nrunner:x:1000:1000:runner:/home/runner:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nrunner:x:1000:\n' >"$rootfs/etc/group"
  mkdir -p "$rootfs/home/runner" && chown 1000:1000 "$rootfs/home/runner"
  chmod 1777 "$rootfs/tmp"
  tar -C "$rootfs" -c . | docker import - factory-test/busybox:1 >/dev/null
  echo "built factory-test/busybox:1"
fi
# The legacy builder's deprecation notice goes to stderr on every build: show stderr only when the build fails.
if ! out=$(docker build -q -t factory-test/runner:1 "$here/controller/github/standin/runner-image" 2>&1); then
  echo "$out" >&2
  exit 1
fi
echo "built factory-test/runner:1"
