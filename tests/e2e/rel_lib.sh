# shellcheck shell=bash
# The lab of the test_rel_*.sh scripts: lib.sh, assert.sh,
# front_lib.sh, a veth tunnel unless LAB_TUNNEL says otherwise (cheap on
# shared cores: these tests are about floods and faults, not the tunnel).
LAB_TUNNEL=${LAB_TUNNEL:-veth}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/assert.sh"
. "$(dirname "${BASH_SOURCE[0]}")/front_lib.sh"

# A long-lived connection and its round trips, for faults and upgrades.
now() { date +%s.%N; }
# rt_after FILE T SECONDS: a round trip logged in FILE after T, waiting up to
# SECONDS (a line that is no time, an error, is none).
rt_after() {
	local _
	for _ in $(seq $(($3 * 10))); do
		awk -v t="$2" '$1 + 0 > t {f = 1} END {exit !f}' "$1" && return 0
		sleep 0.1
	done
	return 1
}
# max_gap FILE FROM TO: the longest time between round trips in [FROM, TO].
max_gap() {
	awk -v a="$2" -v b="$3" '$1 + 0 >= a && $1 + 0 <= b { if (p) { g = $1 - p; if (g > m) m = g } p = $1 }
		END { printf "%.2f\n", m }' "$1"
}
# tcp_stream PORT: from the client's PORT, a TCP connection to the front's
# port 8080 (an echo service behind it) that sends 256 bytes every 0.1 s
# until $LAB_DIR/stop exists, printing the time of each full echo, then
# "closed" (an RST or a stall of 30 s ends it with a Python error instead).
tcp_stream() {
	client python3 -u -c "$LAB_PY"'
import sys, time
pub, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.socket(AF)
c.bind((ANY, port))
c.settimeout(30)
c.connect((pub, 8080))
while not os.path.exists(stop):
    c.sendall(b"t" * 256)
    got = 0
    while got < 256:
        got += len(c.recv(256 - got))
    print("%.3f" % time.time())
    time.sleep(0.1)
c.close()
print("closed")
' "$FRONT_PUB" "$1" "$LAB_DIR/stop"
}
