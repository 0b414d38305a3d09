#!/bin/sh
# steps.sh - run lab 4's steps as the handout gives them.  They take well
# under a second, so SMALL=1 changes nothing.
set -eu
LAB_DIR=$(cd "$(dirname "$0")" && pwd)
. "$LAB_DIR/../lib/lab.sh"
lab_vmsim
cd "$LAB_ROOT"
OFF="-s pwc.enabled=off -s hpwc.enabled=off -s ntlb.enabled=off"
BIG=gups:mb=1024,updates=1000

# shellcheck disable=SC2086 # $OFF is a list of options
{
	run "$VMSIM" walk -m native -w stride --cold
	run "$VMSIM" walk -m nested -w stride --cold $OFF
	run "$VMSIM" walk -m nested -w stride -s hpwc.enabled=off -s ntlb.enabled=off
	run "$VMSIM" walk -m nested -w stride -s pwc.enabled=off -s ntlb.enabled=off
	run "$VMSIM" walk -m nested -w stride -s pwc.enabled=off -s hpwc.enabled=off
	run "$VMSIM" walk -m nested -w stride
	run "$VMSIM" walk -m nested -w stride -s pwc.enabled=off -s hpwc.enabled=off --va 0x10000003f000
	run "$VMSIM" walk -m nested -w stride --cold $OFF -s guest.levels=5 -s host.levels=5
	run "$VMSIM" walk -m nested -w stride --cold $OFF -s guest.levels=5
	run "$VMSIM" walk -m nested -w $BIG --cold $OFF -s host.page=2m
	run "$VMSIM" walk -m nested -w $BIG --cold $OFF -s host.page=1g
	run "$VMSIM" walk -m nested -w $BIG --cold $OFF -s guest.page=2m -s host.page=2m
	run "$VMSIM" walk -m nested -w $BIG --cold $OFF -s guest.page=1g -s host.page=1g
}
