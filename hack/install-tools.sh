#!/usr/bin/env bash
# Usage: hack/install-tools.sh
#
# Installs every real component the tests use, in parallel, into the cache
# (see lib.sh), and prints one KEY=VALUE line per tool on stdout for the
# tests to find them:
#
#   set -a; eval "$(hack/install-tools.sh)"; set +a
#
# Each installer runs as its own job; the first failure fails the whole run
# after the others finish, with the failing job's log tail on stderr.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# job NAME CMD... — run CMD in the background, stdout to $out/NAME.out.
pids=() names=()
job() {
	local name=$1
	shift
	"$@" >"$out/$name.out" 2>"$out/$name.err" &
	pids+=("$!")
	names+=("$name")
}

job kube "$HACK_DIR/install-kube.sh"
job helm "$HACK_DIR/install-helm.sh" all
job cosign "$HACK_DIR/install-cosign.sh"
job objectstores "$HACK_DIR/install-objectstores.sh"
job registry "$HACK_DIR/install-registry.sh"
job registry3 "$HACK_DIR/install-registry3.sh"

failed=0
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		log "installing ${names[$i]} failed:"
		tail -n 20 "$out/${names[$i]}.err" >&2
		failed=1
	fi
done
((failed == 0)) || die "some test components could not be installed"

# Translate each installer's output into the variables the tests read.
kube_bin=$(tail -n 1 "$out/kube.out")
printf 'SDR_MIRROR_KUBE_BIN=%s\n' "$kube_bin"
{
	read -r helm3_bin
	read -r helm4_bin
} <"$out/helm.out"
printf 'SDR_MIRROR_HELM3=%s\n' "$helm3_bin/helm"
printf 'SDR_MIRROR_HELM4=%s\n' "$helm4_bin/helm"
printf 'SDR_MIRROR_COSIGN_BIN=%s\n' "$(tail -n 1 "$out/cosign.out")"
# install-objectstores.sh prints its KEY=VALUE lines itself.
grep -E '^SDR_MIRROR_[A-Z_]+=' "$out/objectstores.out"
printf 'SDR_MIRROR_REGISTRY_BIN=%s\n' "$(tail -n 1 "$out/registry.out")"
printf 'SDR_MIRROR_REGISTRY3_BIN=%s\n' "$(tail -n 1 "$out/registry3.out")"
