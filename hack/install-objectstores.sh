#!/usr/bin/env bash
# Usage: hack/install-objectstores.sh [s3|gcs|azure|all]   (default: all)
#
# Installs the object-storage servers the store tests run against, pinned in
# hack/lib.sh, into the cache: versitygw (S3, `go install`), fake-gcs-server
# (GCS, `go install`) and Azurite (Azure Blob, npm). Skips what is already
# there. Prints one KEY=VALUE line per server on stdout:
#
#   SDR_MIRROR_VERSITYGW=<path of the versitygw binary>
#   SDR_MIRROR_FAKE_GCS=<path of the fake-gcs-server binary>
#   SDR_MIRROR_AZURITE=<path of Azurite's blob server main.js, run with node>
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: ${0##*/} [s3|gcs|azure|all]"; }
(($# <= 1)) || usage
case ${1:-all} in
s3) want=(s3) ;;
gcs) want=(gcs) ;;
azure) want=(azure) ;;
all) want=(s3 gcs azure) ;;
*) usage ;;
esac

# go_install NAME VERSION BIN_DIR PACKAGE — `go install PACKAGE@VERSION` into
# BIN_DIR unless BIN_DIR/NAME exists; a stamp file records the version.
go_install() {
	local name=$1 version=$2 bin=$3 pkg=$4 build_log
	[[ -x $bin/$name && $(cat "$bin/.version" 2>/dev/null) == "$version" ]] && return 0
	lock "$name-$version"
	[[ -x $bin/$name && $(cat "$bin/.version" 2>/dev/null) == "$version" ]] && return 0
	need go
	mkdir -p "$bin"
	build_log="$bin/../build.log"
	: >"$build_log"
	log "building $name $version (a minute or two; log: $build_log)"
	(cd "$SDR_MIRROR_CACHE" &&
		run_logged "$build_log" env GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$bin" \
			go install -trimpath -ldflags "-s -w" "$pkg@$version") || die "installing $name $version failed"
	printf '%s\n' "$version" >"$bin/.version"
}

install_azurite() {
	local main="$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js" npm_log
	[[ -f $main ]] && { printf '%s\n' "$main"; return 0; }
	lock "azurite-$AZURITE_VERSION"
	[[ -f $main ]] && { printf '%s\n' "$main"; return 0; }
	need node npm
	mkdir -p "$AZURITE_DIR"
	npm_log="$AZURITE_DIR/install.log"
	: >"$npm_log"
	log "installing azurite $AZURITE_VERSION with npm (log: $npm_log)"
	# Azurite 3.36+ needs Node 22; 3.35.0 runs on Node 20.
	run_logged "$npm_log" npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --omit=dev \
		"azurite@$AZURITE_VERSION" || die "npm install azurite@$AZURITE_VERSION failed"
	[[ -f $main ]] || die "azurite installed but $main is missing"
	printf '%s\n' "$main"
}

for w in "${want[@]}"; do
	case $w in
	s3)
		go_install versitygw "$VERSITYGW_VERSION" "$VERSITYGW_BIN_DIR" github.com/versity/versitygw/cmd/versitygw
		printf 'SDR_MIRROR_VERSITYGW=%s\n' "$VERSITYGW_BIN_DIR/versitygw"
		;;
	gcs)
		go_install fake-gcs-server "$FAKE_GCS_VERSION" "$FAKE_GCS_BIN_DIR" github.com/fsouza/fake-gcs-server
		printf 'SDR_MIRROR_FAKE_GCS=%s\n' "$FAKE_GCS_BIN_DIR/fake-gcs-server"
		;;
	azure)
		printf 'SDR_MIRROR_AZURITE=%s\n' "$(install_azurite)"
		;;
	esac
done
