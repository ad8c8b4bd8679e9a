#!/usr/bin/env bash
# Usage: bench/install-peers.sh
#
# Installs the tools the benchmark compares against, pinned, into
# $SDR_MIRROR_CACHE/bench/bin (crane, regsync via go install) and with apt
# (skopeo). Prints the bin directory on stdout.
set -euo pipefail

# shellcheck source=../hack/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"

CRANE_VERSION=v0.22.1
REGSYNC_VERSION=v0.11.7
SKOPEO_DEB_VERSION=1.9.3+ds1-1+b10

bin="$SDR_MIRROR_CACHE/bench/bin"
mkdir -p "$bin"
lock bench-peers
blog="$SDR_MIRROR_CACHE/bench/build.log"
if [[ ! -x $bin/crane-$CRANE_VERSION ]]; then
	log "building crane $CRANE_VERSION"
	(cd "$SDR_MIRROR_CACHE" && run_logged "$blog" env GOWORK=off GOBIN="$bin" go install \
		"github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION") || die "installing crane failed"
	cp "$bin/crane" "$bin/crane-$CRANE_VERSION"
fi
if [[ ! -x $bin/regsync-$REGSYNC_VERSION ]]; then
	log "building regsync $REGSYNC_VERSION"
	(cd "$SDR_MIRROR_CACHE" && run_logged "$blog" env GOWORK=off GOBIN="$bin" go install \
		"github.com/regclient/regclient/cmd/regsync@$REGSYNC_VERSION") || die "installing regsync failed"
	cp "$bin/regsync" "$bin/regsync-$REGSYNC_VERSION"
fi
ln -sf "crane-$CRANE_VERSION" "$bin/crane"
ln -sf "regsync-$REGSYNC_VERSION" "$bin/regsync"
if ! command -v skopeo >/dev/null 2>&1; then
	lock apt
	log "installing skopeo $SKOPEO_DEB_VERSION with apt"
	apt_log="$SDR_MIRROR_CACHE/bench/apt.log"
	if ! apt-cache show "skopeo=$SKOPEO_DEB_VERSION" >/dev/null 2>&1; then
		run_logged "$apt_log" apt-get update || die "apt-get update failed"
	fi
	DEBIAN_FRONTEND=noninteractive run_logged "$apt_log" apt-get install -y --no-install-recommends \
		"skopeo=$SKOPEO_DEB_VERSION" || die "installing skopeo failed"
fi
printf '%s\n' "$bin"
