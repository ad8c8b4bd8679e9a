#!/usr/bin/env bash
# Usage: hack/install-helm.sh [3|4|all]   (default: all)
#
# Installs helm $HELM3_VERSION and/or $HELM4_VERSION (from hack/lib.sh) with
# `go install` into $SDR_MIRROR_CACHE/helm/<version>/bin/helm. Skips a version
# that is already there. Prints each requested bin directory on stdout, one a
# line (Helm 3 first), e.g.
#
#   PATH=$(hack/install-helm.sh 3):$PATH
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: ${0##*/} [3|4|all]"; }

(($# <= 1)) || usage
case ${1:-all} in
3) majors=(3) ;;
4) majors=(4) ;;
all) majors=(3 4) ;;
*) usage ;;
esac

helm_ok() { # BIN_DIR VERSION
	[[ -x $1/helm ]] && [[ $("$1/helm" version --template '{{.Version}}' 2>/dev/null) == "$2" ]]
}

install_helm() { # MAJOR VERSION BIN_DIR
	local major=$1 version=$2 bin=$3 helm_log
	helm_ok "$bin" "$version" && return 0
	lock "helm-$version"
	helm_ok "$bin" "$version" && return 0
	need go
	helm_log="$SDR_MIRROR_CACHE/helm/$version/build.log"
	mkdir -p "$bin"
	: >"$helm_log"
	log "building helm $version (a few minutes; log: $helm_log)"
	# `go install pkg@version` ignores any go.mod/go.work; run it from the cache
	# so a surrounding module cannot interfere.
	(cd "$SDR_MIRROR_CACHE" &&
		run_logged "$helm_log" env GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$bin" \
			go install -trimpath \
			-ldflags "-s -w -X helm.sh/helm/v$major/internal/version.version=$version -X helm.sh/helm/v$major/internal/version.gitTreeState=clean" \
			"helm.sh/helm/v$major/cmd/helm@$version") || die "installing helm $version failed"
	helm_ok "$bin" "$version" || die "$bin/helm does not report version $version"
}

for major in "${majors[@]}"; do
	if ((major == 3)); then
		install_helm 3 "$HELM3_VERSION" "$HELM3_BIN_DIR"
		printf '%s\n' "$HELM3_BIN_DIR"
	else
		install_helm 4 "$HELM4_VERSION" "$HELM4_BIN_DIR"
		printf '%s\n' "$HELM4_BIN_DIR"
	fi
done
