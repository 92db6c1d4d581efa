#!/bin/bash
# Starts the broker in the foreground on a socket it prints, with the best
# backend this machine has (the daemon probes them in its configured order).
# Usage: scripts/run-broker.sh [extra dmabuf-brokerd options]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	sock=/run/dmabuf-broker/socket
else
	sock=${XDG_RUNTIME_DIR:-/tmp}/dmabuf-broker/socket
fi
sock=${DMABUF_BROKER_SOCKET:-$sock}
mkdir -p "$(dirname "$sock")"
echo "dmabuf-brokerd: socket $sock (clients: export DMABUF_BROKER_SOCKET=$sock)"
exec build/daemon/dmabuf-brokerd --socket "$sock" "$@"
