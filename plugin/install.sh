#!/bin/sh
# Helm plugin install hook: fetches the release archive of the plugin's
# version for this platform into $HELM_PLUGIN_DIR/bin and checks its
# SHA-256 against the release's checksums.txt.
#
#   SDR_MIRROR_PLUGIN_DOWNLOAD_URL  base URL of the release's files
#       (default https://github.com/sdr-mirror/kubectl-sdr-mirror/releases/download/v<version>),
#       for a mirror inside a closed network.
#
# An existing bin/kubectl-sdr_mirror (a working tree after make build) is
# kept unless --force is given.
set -eu

dir=${HELM_PLUGIN_DIR:?HELM_PLUGIN_DIR is not set: run through helm plugin install}
bin="$dir/bin/kubectl-sdr_mirror"
if [ -x "$bin" ] && [ "${1:-}" != "--force" ]; then
	echo "sdr-mirror: using $bin"
	exit 0
fi

version=$(sed -n 's/^version:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$dir/plugin.yaml")
[ -n "$version" ] || { echo "sdr-mirror: no version in $dir/plugin.yaml" >&2; exit 1; }

os=$(uname -s | tr '[:upper:]' '[:lower:]')
case "$os" in
linux | darwin) ;;
*) echo "sdr-mirror: unsupported OS $os; download the archive from the release page" >&2; exit 1 ;;
esac
case "$(uname -m)" in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) echo "sdr-mirror: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

base=${SDR_MIRROR_PLUGIN_DOWNLOAD_URL:-https://github.com/sdr-mirror/kubectl-sdr-mirror/releases/download/v$version}
archive="kubectl-sdr_mirror_${os}_${arch}.tar.gz"

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		echo "sdr-mirror: neither curl nor wget found" >&2
		return 1
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "sdr-mirror: downloading $base/$archive"
fetch "$base/$archive" "$tmp/$archive" || { echo "sdr-mirror: downloading $base/$archive failed; set SDR_MIRROR_PLUGIN_DOWNLOAD_URL to a mirror of the release" >&2; exit 1; }
fetch "$base/checksums.txt" "$tmp/checksums.txt" || { echo "sdr-mirror: downloading $base/checksums.txt failed" >&2; exit 1; }

want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/checksums.txt")
if command -v sha256sum >/dev/null 2>&1; then
	got=$(sha256sum "$tmp/$archive" | awk '{ print $1 }')
else
	got=$(shasum -a 256 "$tmp/$archive" | awk '{ print $1 }')
fi
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	echo "sdr-mirror: $archive has SHA-256 $got, checksums.txt says '${want}'; not installing" >&2
	exit 1
fi

tar -xzf "$tmp/$archive" -C "$tmp" kubectl-sdr_mirror
mkdir -p "$dir/bin"
mv "$tmp/kubectl-sdr_mirror" "$bin"
chmod 0755 "$bin"
echo "sdr-mirror: installed $("$bin" version)"
