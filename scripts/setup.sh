#!/bin/sh
# Install what vmsim needs to build, test and plot, by Debian package name.
# Idempotent: packages already installed are not touched, and apt-get runs
# only when something is missing.  Run as root (or through sudo).
set -eu
pkgs="build-essential cmake pkg-config libinih-dev libzstd-dev libcjson-dev
      libcriterion-dev liblzma-dev zlib1g-dev gnuplot-nox valgrind clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi
echo "setup: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
