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
