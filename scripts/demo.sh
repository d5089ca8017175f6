#!/usr/bin/env bash
# The lab demo: a client, a front relay, a backend and a real WireGuard
# tunnel (wireguard-go) in network namespaces, dual stack. relaybpf relays
# a TCP request from the client to the backend over IPv4 and over IPv6,
# and the backend sees the client's real address of each family.
# Everything is torn down at the end, on failure and on Ctrl-C too.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"
trap lab_down EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building the lab: client $CLIENT4 / $CLIENT6 -> front $FRONT_PUB4 / $FRONT_PUB6 => WireGuard => back $BACK_TUN4 / $BACK_TUN6"
lab_up
lab_peer_server 8080
# The IPv6 server on 8081 (its :: socket takes IPv4 too, so it needs its own port).
TCP_LISTEN=TCP6-LISTEN lab_peer_server 8081
echo "backend: TCP servers on ports 8080 (IPv4) and 8081 (IPv6) answer with the peer address they see"

say "Attaching relaybpf for both families (front: $NS_FRONT dev f0; back: $NS_BACK dev $TUN_BACK)"
front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN4" --backend "$BACK_TUN6"
back "$RELAYBPF" attach --role back --dev "$TUN_BACK" --front "$FRONT_TUN4,$FRONT_TUN6"

ok=0
for ask in "$CLIENT4 $(hp "$FRONT_PUB4" 8080)" "$CLIENT6 $(hp "$FRONT_PUB6" 8081)"; do
	# shellcheck disable=SC2086 # two words
	set -- $ask
	say "Client connects to the front's public address $2"
	reply=$(client socat -T5 - "TCP:$2,connect-timeout=3" </dev/null || true)
	echo "client received: $reply"
	if [ "$reply" = "backend saw $1 0" ]; then
		echo "The backend saw the client's real address $1 (no SNAT)."
	else
		echo "Unexpected answer: '$reply'"
		ok=1
	fi
done

say "relaybpf stats (front)"
front "$RELAYBPF" stats
say "relaybpf stats (back)"
back "$RELAYBPF" stats
say "relaybpf conntrack (front)"
front "$RELAYBPF" conntrack
exit "$ok"
