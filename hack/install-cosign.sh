#!/usr/bin/env bash
# Usage: hack/install-cosign.sh
#
# Installs cosign $COSIGN_VERSION with `go install` into
# $SDR_MIRROR_CACHE/cosign/<version>/bin/cosign (tests sign images with it).
# Skips the build when it is already there. Prints the bin directory.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COSIGN_VERSION=v2.6.5
bin="$SDR_MIRROR_CACHE/cosign/$COSIGN_VERSION/bin"

cosign_ok() {
	[[ -x $bin/cosign ]] && "$bin/cosign" version 2>/dev/null | grep -q "GitVersion:[[:space:]]*$COSIGN_VERSION"
}

if ! cosign_ok; then
	lock "cosign-$COSIGN_VERSION"
	if ! cosign_ok; then
		need go
		build_log="$SDR_MIRROR_CACHE/cosign/$COSIGN_VERSION/build.log"
		mkdir -p "$bin"
		: >"$build_log"
		log "building cosign $COSIGN_VERSION (about 5 minutes; log: $build_log)"
		(cd "$SDR_MIRROR_CACHE" &&
			run_logged "$build_log" env GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$bin" \
				go install -trimpath \
				-ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" \
				"github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION") || die "installing cosign $COSIGN_VERSION failed"
		cosign_ok || die "$bin/cosign does not report version $COSIGN_VERSION"
	fi
fi
printf '%s\n' "$bin"
