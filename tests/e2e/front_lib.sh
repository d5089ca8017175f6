# shellcheck shell=bash
# Helpers of the test_front_*.sh scripts (needs lib.sh).

# front_stat NAME: the front's counter NAME, summed over CPUs.
front_stat() {
	front "$RELAYBPF" stats --json |
		python3 -c "import json, sys; print(json.load(sys.stdin)['front']['$1'])"
}

# wait_listening NS PROTO PORT: until a socket of NS listens on PORT (PROTO tcp or udp).
wait_listening() {
	local flag=-ltn
	[ "$2" = udp ] && flag=-lun
	lab_wait_for "$1 $2:$3" sh -c "nsenter --net=/run/netns/$1 ss $flag | grep -q ':$3 '"
}

# nft_packets NS FAMILY TABLE CHAIN [COMMENT]: the packet counts of the
# chain's counters (only the one with that comment), space-separated.
nft_packets() {
	in_ns "$1" nft list chain "$2" "$3" "$4" |
		awk -v c="${5:-}" '/counter/ && (c == "" || index($0, "\"" c "\"")) {
			for (i = 1; i < NF; i++) if ($i == "packets") printf "%s ", $(i + 1) }' |
		sed 's/ $//'
}

# udp_responder NS PORT TEXT: a UDP server in NS answering every datagram with TEXT.
udp_responder() {
	lab_spawn "$1" python3 -c "$LAB_PY"'
import socket, sys
s = socket.socket(AF, socket.SOCK_DGRAM)
s.bind((ANY, int(sys.argv[1])))
while True:
    s.sendto(sys.argv[2].encode(), s.recvfrom(4096)[1])
' "$2" "$3"
	wait_listening "$1" udp "$2"
}
