#!/usr/bin/env bash
# Usage: hack/objectstore-down.sh DIR
#
# Stops the servers hack/objectstore-up.sh started with their data in DIR.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || die "usage: ${0##*/} DIR"
shopt -s nullglob
for pidfile in "$1"/*.pid; do
	name=$(basename "$pidfile" .pid)
	pid=$(cat "$pidfile")
	# Only a process that is still the server we started.
	if proc_alive "$name" "$pid" || { [[ $name == azurite ]] && proc_alive node "$pid"; }; then
		stop_process "$pid"
	fi
	rm -f "$pidfile"
done
