# shellcheck shell=bash
# The lab of the test_rel_*.sh scripts: lib.sh, assert.sh,
# front_lib.sh, a veth tunnel unless LAB_TUNNEL says otherwise (cheap on
# shared cores: these tests are about floods and faults, not the tunnel).
LAB_TUNNEL=${LAB_TUNNEL:-veth}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/assert.sh"
. "$(dirname "${BASH_SOURCE[0]}")/front_lib.sh"
