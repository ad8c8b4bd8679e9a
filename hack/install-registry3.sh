#!/usr/bin/env bash
# Usage: hack/install-registry3.sh
#
# Builds CNCF Distribution v3 ($DISTRIBUTION3_VERSION, `go install`, about a
# minute and a half) into the cache when it is missing, and prints the
# registry binary's path on stdout. It serves the OCI referrers API, which
# Debian's Distribution 2.8 (hack/install-registry.sh) does not; both start
# with hack/registry-up.sh:
#
#   SDR_MIRROR_REGISTRY3_BIN=$(hack/install-registry3.sh)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

go_install registry "$DISTRIBUTION3_VERSION" "$DISTRIBUTION3_BIN_DIR" github.com/distribution/distribution/v3/cmd/registry
printf '%s\n' "$DISTRIBUTION3_BIN_DIR/registry"
