#!/usr/bin/env bash
# Stop the single-node SLURM that tools/slurm/up.sh started: cancel its jobs, stop slurmd
# and slurmctld, and munged when up.sh started it (--keep-munge leaves it running). The
# packages stay, so up.sh starts again quickly; the config files up.sh wrote go: with a
# slurm.conf naming a controller that no longer runs, every `scontrol show config` waits 10 s,
# and the SLURM executor plugin runs it each time Snakemake starts. Every wait is bounded.
set -uo pipefail

STATE=${XLIE_SLURM_STATE:-/var/lib/xlie-slurm}
keep_munge=0 keep_config=0
for arg in "$@"; do
    case $arg in
        --keep-munge) keep_munge=1 ;;
        --keep-config) keep_config=1 ;;  # up.sh restarting the daemons on a new config
        *) echo "usage: $0 [--keep-munge] [--keep-config]" >&2; exit 2 ;;
    esac
done

stop() {  # stop <name> <pid file>: TERM, wait up to 15 s, then KILL
    local pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$1 did not stop in 15 s: killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

if command -v scancel >/dev/null && [ -s "$STATE/run/slurmctld.pid" ]; then
    timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
fi
stop slurmd "$STATE/run/slurmd.pid"
stop slurmctld "$STATE/run/slurmctld.pid"
if [ $keep_munge = 0 ] && [ -e "$STATE/run/munged.ours" ]; then
    stop munged /run/munge/munged.pid
    rm -f "$STATE/run/munged.ours"
fi
CONF_DIR=/etc/slurm
if [ $keep_config = 0 ] && grep -qsF "# written by xlie tools/slurm/up.sh" "$CONF_DIR/slurm.conf"; then
    rm -f "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"
fi
echo "SLURM stopped"
