#!/usr/bin/env bash
# The lab demo: a client, a front relay, a backend and a real WireGuard
# tunnel (wireguard-go) in network namespaces. relaybpf relays a TCP request
# from the client to the backend, which sees the client's real address.
# Everything is torn down at the end, on failure and on Ctrl-C too.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"
trap lab_down EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building the lab: client $CLIENT_IP -> front $FRONT_PUB => WireGuard => back $BACK_TUN"
lab_up
lab_peer_server 8080
echo "backend: a TCP server on port 8080 answers with the peer address it sees"

say "Attaching relaybpf (front: $NS_FRONT dev f0; back: $NS_BACK dev $TUN_BACK)"
lab_attach

say "Client connects to the front's public address $FRONT_PUB:8080"
reply=$(client socat -T5 - "TCP:$FRONT_PUB:8080,connect-timeout=3" </dev/null)
echo "client received: $reply"

say "relaybpf stats (front)"
front "$RELAYBPF" stats
say "relaybpf stats (back)"
back "$RELAYBPF" stats

if [ "$reply" = "backend saw $CLIENT_IP 0" ]; then
	say "The backend saw the client's real address $CLIENT_IP (no SNAT)."
else
	say "Unexpected answer: '$reply'"
	exit 1
fi
