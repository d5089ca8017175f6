#!/usr/bin/env bash
# test_cli_daemon.sh over real WireGuard (wireguard-go's TUN device).
LAB_TUNNEL=wg exec bash "$(dirname "$0")/test_cli_daemon.sh"
