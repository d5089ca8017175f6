#!/usr/bin/env bash
# The front host keeps working while attached, with the WireGuard underlay
# on the public device (the backend reaches 203.0.113.1:51820 through the
# client's network): the backend speaking first, its underlay port
# changing, the front's own TCP/UDP/ping toward the internet, and a local
# listener on a forwarded port (it wins, counted as pass_host_socket).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
. "$(dirname "$0")/cases.sh"
trap lab_down EXIT

lab_up_or_die
lab_peer_server 8080
lab_back_public

expect_ok "attach front and back (udp:51820 not excluded)" lab_attach
# Move the underlay to the public link, the old one goes away.
front wg set "$TUN_FRONT" peer "$(back wg show "$TUN_BACK" public-key)" endpoint "$(hp "$BACK_PUB" 51820)"
back wg set "$TUN_BACK" peer "$(front wg show "$TUN_FRONT" public-key)" endpoint "$(hp "$FRONT_PUB" 51820)"
front ip link set f1 down
back ip link set b1 down
expect_ok "the backend speaks first over the public link" back ping -c2 -W2 "$FRONT_TUN"
expect_match "the front's WireGuard sees the backend on the public link" "$(hp "$BACK_PUB" 51820 | sed 's/[][]/\\&/g')" \
	"$(front wg show "$TUN_FRONT" endpoints)"
case_tcp_relay

back wg set "$TUN_BACK" listen-port 51833
expect_ok "the backend's underlay port changed: the tunnel still works" \
	back ping -c2 -W2 "$FRONT_TUN"
expect_match "the front's WireGuard followed the new port" "$(hp "$BACK_PUB" 51833 | sed 's/[][]/\\&/g')" \
	"$(front wg show "$TUN_FRONT" endpoints)"
expect_eq "relay still works after the port change" "backend saw $CLIENT_IP 0" \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8080),connect-timeout=3" </dev/null)"

# The front's own connections toward the internet (the client's network).
lab_spawn "$NS_CLIENT" socat "$TCP_LISTEN:9000,reuseaddr,fork" SYSTEM:"head -c 1000000 /dev/zero"
udp_responder "$NS_CLIENT" 9053 "client dns"
wait_listening "$NS_CLIENT" tcp 9000
expect_eq "the front's own TCP download arrives whole" 1000000 \
	"$(front socat -T5 -u "TCP:$(hp "$CLIENT_IP" 9000),connect-timeout=3" - | wc -c)"
expect_eq "the front's own UDP query gets its answer" "client dns" \
	"$(echo q | front socat -T3 -t3 - "UDP:$(hp "$CLIENT_IP" 9053)")"
expect_ok "the front's own ping gets its replies" front ping -c2 -W2 "$CLIENT_IP"

# A local listener on a forwarded port: attach says so, and it serves.
lab_spawn "$NS_FRONT" socat "$TCP_LISTEN:8081,reuseaddr,fork" SYSTEM:"echo front 8081"
wait_listening "$NS_FRONT" tcp 8081
out=$(front "$RELAYBPF" attach --role front --dev f0 --backend "$BACK_TUN" 2>&1)
expect_match "attach warns about the local listener on a forwarded port" "tcp:8081" "$out"
expect_eq "a local listener on a forwarded port serves new connections" "front 8081" \
	"$(client socat -T5 - "TCP:$(hp "$FRONT_PUB" 8081),connect-timeout=3" </dev/null)"
expect_gt "front counted pass_host_socket" 0 "$(front_stat pass_host_socket)"
e2e_summary
