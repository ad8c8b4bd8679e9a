#!/usr/bin/env bash
# Usage: hack/install-registry.sh
#
# Installs the CNCF Distribution registry (Debian package docker-registry,
# $REGISTRY_DEB_VERSION), htpasswd (apache2-utils) and openssl with apt when
# they are missing. Prints the registry binary's path on stdout, e.g.
#
#   SDR_MIRROR_REGISTRY_BIN=$(hack/install-registry.sh)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

registry_ok() {
	[[ -x /usr/bin/docker-registry ]] && command -v htpasswd >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1
}

if ! registry_ok; then
	lock apt
	if ! registry_ok; then
		need apt-get
		mkdir -p "$SDR_MIRROR_CACHE"
		apt_log="$SDR_MIRROR_CACHE/apt-registry.log"
		: >"$apt_log"
		log "installing docker-registry $REGISTRY_DEB_VERSION, apache2-utils and openssl with apt (log: $apt_log)"
		export DEBIAN_FRONTEND=noninteractive
		# The package's maintainer scripts would start a system service: forbid it.
		if [[ ! -e /usr/sbin/policy-rc.d ]]; then
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod +x /usr/sbin/policy-rc.d
			trap 'rm -f /usr/sbin/policy-rc.d' EXIT
		fi
		if ! apt-cache show "docker-registry=$REGISTRY_DEB_VERSION" >/dev/null 2>&1; then
			run_logged "$apt_log" apt-get update || die "apt-get update failed"
		fi
		run_logged "$apt_log" apt-get install -y --no-install-recommends \
			"docker-registry=$REGISTRY_DEB_VERSION" apache2-utils openssl || die "apt-get install docker-registry failed"
	fi
fi
registry_ok || die "docker-registry, htpasswd or openssl still missing after install"
printf '%s\n' /usr/bin/docker-registry
