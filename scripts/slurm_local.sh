#!/usr/bin/env bash
# A one-node Slurm cluster in a directory, for the test that launches
# plotforge with a real srun (tests/distributed_test.cc): munged on its own
# key and socket, slurmctld and slurmd on the given ports, no cgroups. Needs
# root and Debian's slurmd, slurmctld, slurm-client and munge (setup.sh).
#
#   scripts/slurm_local.sh start DIR CTLD_PORT SLURMD_PORT   # then SLURM_CONF=DIR/slurm.conf srun ...
#   scripts/slurm_local.sh stop DIR
set -euo pipefail
cmd=$1
dir=$(realpath -m "$2")
stop() {  # and wait for them to go (they remove their pid files)
  local pids=()
  for p in slurmd slurmctld munged; do
    [ -f "$dir/$p.pid" ] && pids+=("$(cat "$dir/$p.pid")")
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}
if [ "$cmd" = stop ]; then stop; exit 0; fi
ctld_port=$3
slurmd_port=$4
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
head -c 1024 /dev/urandom > "$dir/munge.key"
chmod 600 "$dir/munge.key"
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.sock" --log-file="$dir/log/munged.log" \
  --pid-file="$dir/munged.pid" --seed-file="$dir/munged.seed"
cat > "$dir/slurm.conf" <<CONF
ClusterName=plotforge
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
# Ready once the node is idle.
for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then exit 0; fi
  sleep 0.2
done
echo "slurm_local: the node did not come up; see $dir/log" >&2
stop
exit 1
