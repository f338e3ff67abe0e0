#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost (Debian packages slurmctld, slurmd,
# slurm-client, munge) for the tests. Needs root. Idempotent: returns at once when the node
# is already idle. Stop it with scripts/slurm-down.sh.
set -euo pipefail
if command -v sinfo >/dev/null 2>&1 && sinfo -h -o %T 2>/dev/null | grep -qx idle; then
  echo "slurm: already up"; exit 0
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
NCPU=$(nproc); MEM_MB=$(awk '/MemTotal/ {print int($2/1024*0.9)}' /proc/meminfo)
mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /run/munge
chown slurm:slurm /var/lib/slurm/slurmctld /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=loamci
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
DependencyParameters=kill_invalid_depend
MaxArraySize=100001
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${NCPU} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown munge:munge /etc/munge/munge.key /run/munge; chmod 0400 /etc/munge/munge.key
munge -n >/dev/null 2>&1 || runuser -u munge -- /usr/sbin/munged
for _ in $(seq 20); do munge -n >/dev/null 2>&1 && break; sleep 0.5; done
munge -n >/dev/null 2>&1 || { echo "slurm: munge does not work" >&2; exit 1; }
# `-c` starts from clean state; a state directory left by a cluster of another name would
# still be refused (slurmctld's safety check), so its name file goes too.
rm -f /var/lib/slurm/slurmctld/clustername
[ -f /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null || /usr/sbin/slurmctld -c -i
[ -f /run/slurmd.pid ] && kill -0 "$(cat /run/slurmd.pid)" 2>/dev/null || /usr/sbin/slurmd -N localhost
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.5; done
sinfo -h -o %T | grep -qx idle || { echo "slurm: node never became idle" >&2; tail -20 /var/log/slurm/*.log >&2; exit 1; }
echo "slurm: up ($NCPU CPUs, $MEM_MB MB)"
