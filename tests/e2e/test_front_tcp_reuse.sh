#!/usr/bin/env bash
# A client reusing one address and port for one short TCP connection after
# another, the server closing first: each new SYN meets the front's entry
# of the previous connection still CLOSING and the backend's socket in
# TIME_WAIT. Every connection must open at once (a SYN lost or answered
# wrongly costs the client a 1 s retransmission: 20 conn/s), on the same
# conntrack entry.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/front_lib.sh"
trap lab_down EXIT

N=200
lab_up_or_die
lab_spawn "$NS_BACK" python3 -c "$LAB_PY"'
l = socket.socket(AF)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((ANY, 8070))
l.listen(128)
while True:
    c, _ = l.accept()
    c.recv(1)
    c.sendall(b"y")
    c.close()'
wait_listening "$NS_BACK" tcp 8070
expect_ok "attach" lab_attach
# Prints "OK FAILED SECONDS". EADDRNOTAVAIL is the client's own previous
# socket still waiting for the last ACK: retried, not a failure.
out=$(client python3 -c "$LAB_PY"'
import errno, sys, time
ok = failed = 0
start = time.time()
for _ in range(int(sys.argv[2])):
    while True:
        s = socket.socket(AF)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ANY, 40999))
        s.settimeout(3)
        try:
            s.connect((sys.argv[1], 8070))
        except OSError as e:
            s.close()
            if e.errno == errno.EADDRNOTAVAIL:
                time.sleep(0.005)
                continue
            failed += 1
            break
        try:
            s.sendall(b"x")
            if s.recv(1) == b"y" and s.recv(1) == b"":
                ok += 1
            else:
                failed += 1
        except OSError:
            failed += 1
        s.close()
        break
print(ok, failed, "%.1f" % (time.time() - start))' "$FRONT_PUB" "$N")
read -r ok failed secs <<<"$out"
expect_eq "$FAM: all $N connections from port 40999 got their answer" "$N 0" "$ok ${failed:-?}"
expect_eq "no connection waited for a retransmitted SYN (${secs:-?} s)" 1 \
	"$(python3 -c "print(int(${secs:-99} < 5))")"
expect_gt "the backend closed first: its sockets went to TIME_WAIT" $((N / 2)) \
	"$(back nstat -az TcpExtTW | awk '/TcpExtTW/ {print $2}')"
expect_eq "one conntrack entry for all of them" 1 "$(front_stat conntrack_new)"
expect_gt "every SYN was clamped" $((N - 1)) "$(front_stat mss_clamped)"
e2e_summary
