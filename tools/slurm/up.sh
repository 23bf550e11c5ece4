#!/usr/bin/env bash
# Bring up a real single-node SLURM on this machine (Debian/Ubuntu, run as root), e.g. to try
# or test profiles/slurm: munge + slurmctld + slurmd from the distribution's packages, this
# host as the only node, FAKE_GPUS pretend GPUs as a GRES (no real device behind them) so
# that jobs asking for --gpus=N are schedulable. No accounting (sacct is unavailable: use
# the profile's squeue status command). Idempotent: a second call only checks the cluster.
# Undo with tools/slurm/down.sh. Settings: XLIE_SLURM_STATE (default /var/lib/xlie-slurm),
# XLIE_SLURM_FAKE_GPUS (default 4), XLIE_SLURM_WAIT_S (default 60).
set -euo pipefail

STATE=${XLIE_SLURM_STATE:-/var/lib/xlie-slurm}
FAKE_GPUS=${XLIE_SLURM_FAKE_GPUS:-4}
WAIT_S=${XLIE_SLURM_WAIT_S:-60}
CONF_DIR=/etc/slurm
MARKER="# written by xlie tools/slurm/up.sh"

die() { echo "tools/slurm/up.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# Wait up to WAIT_S seconds for a command to succeed.
wait_for() {
    local what=$1; shift
    local deadline=$((SECONDS + WAIT_S))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "gave up after ${WAIT_S}s waiting for $what (logs in $STATE/log)"
        sleep 1
    done
}
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_idle() { sinfo -h -N -o %T | grep -qx idle; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || die "slurmctld, slurmd, slurm-client and munge are missing and there is no apt-get to install them"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

if [ -e "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARKER" "$CONF_DIR/slurm.conf"; then
    die "$CONF_DIR/slurm.conf exists and was not written by this script: refusing to replace a real cluster's configuration"
fi

NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
mkdir -p "$STATE"/{spool,state,log,run,fake-gpu} "$CONF_DIR" /run/munge /var/lib/munge /var/log/munge
# Pretend GPU devices: slurmd wants one character device per GPU to hand out ids (it then
# sets CUDA_VISIBLE_DEVICES); clones of /dev/null (c 1 3) do, and with task/none nothing
# opens them. Where mknod is not allowed the GRES is a bare count: jobs are still scheduled
# by GPU count, but no CUDA_VISIBLE_DEVICES is set.
GRES_FILES=1
for ((i = 0; i < FAKE_GPUS; i++)); do
    dev="$STATE/fake-gpu/nvidia$i"
    [ -c "$dev" ] && continue
    rm -f "$dev"
    mknod "$dev" c 1 3 2>/dev/null || { GRES_FILES=0; break; }
done

GRES_NODE="" GRES_TYPES=""
if [ "$FAKE_GPUS" -gt 0 ]; then
    GRES_NODE="Gres=gpu:$FAKE_GPUS"
    GRES_TYPES="GresTypes=gpu"
fi
cat >"$CONF_DIR/slurm.conf.new" <<CONF
$MARKER: a single-node test cluster.
ClusterName=xlie
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# This machine's CPUs/memory as configured win over what slurmd detects (containers).
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
$GRES_TYPES
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB $GRES_NODE State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
{
    echo "$MARKER"
    if [ "$FAKE_GPUS" -gt 0 ]; then
        if [ $GRES_FILES = 1 ]; then
            echo "NodeName=$NODE Name=gpu File=$STATE/fake-gpu/nvidia[0-$((FAKE_GPUS - 1))]"
        else
            echo "NodeName=$NODE Name=gpu Count=$FAKE_GPUS"
        fi
    fi
} >"$CONF_DIR/gres.conf.new"

changed=0
for f in slurm.conf gres.conf; do
    if ! cmp -s "$CONF_DIR/$f.new" "$CONF_DIR/$f"; then mv "$CONF_DIR/$f.new" "$CONF_DIR/$f"; changed=1; else rm "$CONF_DIR/$f.new"; fi
done
if [ $changed = 1 ] && { alive "$STATE/run/slurmctld.pid" || alive "$STATE/run/slurmd.pid"; }; then
    echo "configuration changed: restarting the daemons"
    "$(dirname "$0")/down.sh" --keep-munge --keep-config
fi

if ! alive /run/munge/munged.pid; then
    [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; }
    if id munge >/dev/null 2>&1; then  # as the packages intend: munged runs as user munge
        chown -R munge:munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
        chmod 600 /etc/munge/munge.key
        runuser -u munge -- munged
    else
        munged --force
    fi
    touch "$STATE/run/munged.ours"  # down.sh stops munged only when this script started it
fi
wait_for "munge" sh -c 'munge -n | unmunge'
alive "$STATE/run/slurmctld.pid" || slurmctld
wait_for "slurmctld" scontrol ping
alive "$STATE/run/slurmd.pid" || slurmd
# A node left DOWN/DRAINED by an earlier run comes back.
scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
wait_for "node $NODE to become idle" node_idle
gpus="$FAKE_GPUS pretend GPUs (gres gpu, $(grep -q File= "$CONF_DIR/gres.conf" && echo "device files: jobs get CUDA_VISIBLE_DEVICES" || echo "a bare count"))"
echo "SLURM is up: node $NODE, $CPUS CPUs, ${MEM_MB} MB, $gpus, partition debug"
sinfo -N -o "%N %T %C %m %G"
