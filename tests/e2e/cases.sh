# shellcheck shell=bash
# Checks shared by the e2e tests of every tunnel type (needs lib.sh and
# assert.sh, a lab that is up and attached, and lab_peer_server 8080).

# TCP from the client reaches the backend with the client's address, the
# answer comes back, a bulk upload arrives whole (every data segment's
# rewritten checksum verified by the backend's stack) and nothing leaks out
# of the backend's own default route.
case_tcp_relay() {
	local reply got
	reply=$(client socat -T5 - "TCP:$FRONT_PUB:8080,connect-timeout=3" </dev/null)
	expect_eq "$LAB_TUNNEL: client gets the backend's answer" "backend saw $CLIENT_IP 0" "$reply"
	expect_match "$LAB_TUNNEL: backend logged the client's real address" "^$CLIENT_IP\$" \
		"$(grep -v 127.0.0.1 "$LAB_DIR/backend-peers" | head -1)"
	got=$(head -c 1000000 /dev/urandom | client socat -T5 -t5 - "TCP:$FRONT_PUB:8080,connect-timeout=3")
	expect_eq "$LAB_TUNNEL: 1 MB upload relayed whole" "backend saw $CLIENT_IP 1000000" "$got"
	expect_eq "$LAB_TUNNEL: no reply leaked out of the backend's default route" 0 "$(lab_sink_leaks)"
}
