# shellcheck shell=bash
# Sourced by scripts/setup and scripts/setup-tests: installs a Debian package when its command is missing.
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=""
need_pkg() { # need_pkg <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "$apt_updated" ] || { $sudo apt-get update -qq; apt_updated=1; }
  echo "${0##*/}: installing $2"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}
