#!/usr/bin/env bash
# Bring a single-node Slurm cluster up or down on this machine, for the Slurm test in CI.
#
#   .ci/slurm_cluster.sh up       install the packages if missing, write the configuration and
#                                 start munged, mariadbd, slurmdbd, slurmctld and slurmd
#   .ci/slurm_cluster.sh down     stop the daemons this script started (by PID) and remove their
#                                 PID files
#   .ci/slurm_cluster.sh status   list the daemons and what `sinfo` says
#
# Made for a throw-away Debian 12 machine where we are root and nothing (no systemd) starts
# services: the daemons are started directly and their PIDs kept under $STATE (munged's and
# mariadbd's in /run/munge and /run/mysqld). Both commands are idempotent. `up` takes about 40 s on
# a fresh machine (apt-get), 3 s when the packages are there, 1 s when the cluster is already up.
# It writes /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf and refuses to overwrite files of
# that name that it did not write, so it never clobbers the configuration of a real cluster.
#
# The cluster: one node (this host, its CPUs and 90 % of its memory as `slurmd -C` reports
# them), one default partition `ci`, accounting through slurmdbd + MariaDB (so `sacct` answers,
# which is how snakemake-executor-plugin-slurm checks job status by default), an account `ci`
# holding root. Every daemon runs as root. Logs: $STATE/log/.
set -Eeuo pipefail
trap 'echo "slurm_cluster: error: line $LINENO: \`$BASH_COMMAND\` failed (logs: $STATE/log/)" >&2' ERR

STATE=${FIXEDPOINTS_SLURM_STATE:-/var/lib/fixedpoints-slurm}
CLUSTER=fixedpoints-ci
PARTITION=ci
ACCOUNT=ci
MARKER="# written by fixedpoints .ci/slurm_cluster.sh"
PACKAGES=(munge slurm-client slurmctld slurmd slurmdbd mariadb-server)
# daemons in start order
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

log() { echo "slurm_cluster: $*" >&2; }
die() { echo "slurm_cluster: error: $*" >&2; exit 1; }

pidfile() {
    case $1 in
        munged) echo /run/munge/munged.pid ;;    # these two run as their own users
        mariadbd) echo /run/mysqld/mysqld.pid ;;
        *) echo "$STATE/$1.pid" ;;
    esac
}

# running NAME: true when NAME's PID file names a live process whose command is NAME
running() {
    local f pid
    f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] || return 1
    [[ $(</proc/"$pid"/comm) == "$1"* ]]
}

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.5 s until it succeeds
wait_for() {
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds * 2; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    die "$what did not come up within ${seconds} s (logs: $STATE/log/)"
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
}

# write_conf PATH MODE CONTENT: write a configuration file unless a foreign one is there
write_conf() {
    local path=$1 mode=$2 content=$3
    if [[ -e $path ]] && ! grep -qxF "$MARKER" "$path"; then
        die "$path exists and was not written by this script; not touching a real cluster's configuration"
    fi
    printf '%s\n' "$content" >"$path.tmp"
    chmod "$mode" "$path.tmp"
    mv "$path.tmp" "$path"
}

write_configuration() {
    local host node mem pass
    host=$(hostname -s)
    getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >>/etc/hosts
    # "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105": keep 10 % of the memory for the rest
    node=$(slurmd -C | head -n 1)
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
    node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node")
    mkdir -p /etc/slurm "$STATE/log" "$STATE/slurmctld" "$STATE/slurmd"
    # keep the database password of an earlier `up`, so the database user still matches
    pass=$(sed -n 's/^StoragePass=//p' /etc/slurm/slurmdbd.conf 2>/dev/null || true)
    [[ -n $pass ]] || pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    DB_PASS=$pass
    write_conf /etc/slurm/slurmdbd.conf 600 "$MARKER
DbdHost=localhost
SlurmUser=root
AuthType=auth/munge
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db"
    # AccountingStorageType must be in slurm.conf before slurmctld first starts
    write_conf /etc/slurm/slurm.conf 644 "$MARKER
ClusterName=$CLUSTER
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
$node State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP"
}

start_munged() {
    running munged && return 0
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid </dev/null
    wait_for 10 munged munge -n
}

start_mariadbd() {
    running mariadbd && return 0
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    setsid /usr/sbin/mariadbd --user=mysql --pid-file=/run/mysqld/mysqld.pid \
        </dev/null >>"$STATE/log/mariadbd.log" 2>&1 &
    wait_for 30 mariadbd mariadb-admin ping --silent
    wait_for 5 "mariadbd PID file" test -s /run/mysqld/mysqld.pid
}

setup_database() {
    mariadb -u root <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
}

start_slurmdbd() {
    running slurmdbd && return 0
    /usr/sbin/slurmdbd </dev/null
    wait_for 30 slurmdbd sacctmgr -n list cluster
}

start_slurmctld() {
    running slurmctld && return 0
    /usr/sbin/slurmctld </dev/null
    wait_for 30 slurmctld scontrol ping
}

start_slurmd() {
    running slurmd && return 0
    /usr/sbin/slurmd </dev/null
}

# sacctmgr_add ENTITY NAME ARGS...: add an accounting entity unless it exists
sacctmgr_add() {
    local entity=$1 name=$2
    shift 2
    if [[ -z $(sacctmgr -n -P list "$entity" "$name" format="$entity" 2>/dev/null) ]]; then
        sacctmgr -i add "$entity" "$name" "$@" >/dev/null
    fi
}

node_idle() {
    sinfo -h -N -o '%T' | grep -qxE 'idle|mixed|allocated'
}

up() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts daemons)"
    install_packages
    write_configuration
    start_munged
    start_mariadbd
    setup_database
    start_slurmdbd
    sacctmgr_add cluster "$CLUSTER"
    start_slurmctld
    start_slurmd
    sacctmgr_add account "$ACCOUNT" Cluster="$CLUSTER" Description=CI Organization=fixedpoints
    if ! sacctmgr -n -P -s list user root format=account | grep -qx "$ACCOUNT"; then
        sacctmgr -i add user root Account="$ACCOUNT" >/dev/null
    fi
    # a node left down or drained by an earlier run comes back
    if ! node_idle; then
        scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
    fi
    wait_for 60 "node $(hostname -s) (idle in sinfo)" node_idle
    log "up: cluster $CLUSTER, partition $PARTITION, account $ACCOUNT; logs in $STATE/log/"
}

# stop NAME...: SIGTERM to each daemon this script started, wait until all are gone (SIGKILL
# after 30 s), remove their PID files
stop() {
    local name pids=() pid i alive
    for name in "$@"; do
        if running "$name"; then
            pid=$(<"$(pidfile "$name")")
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for ((i = 0; i < 300; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            if [[ -e /proc/$pid ]]; then alive=1; fi
        done
        if ((alive == 0)); then break; fi
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if [[ -e /proc/$pid ]]; then
            log "PID $pid ignored SIGTERM for 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for name in "$@"; do
        rm -f "$(pidfile "$name")"
    done
}

down() {
    stop slurmd slurmctld    # the controller reports to slurmdbd while it shuts down
    stop slurmdbd
    stop mariadbd munged
    log "down"
}

status() {
    local d
    for d in "${DAEMONS[@]}"; do
        if running "$d"; then echo "$d: running ($(<"$(pidfile "$d")"))"; else echo "$d: stopped"; fi
    done
    sinfo 2>&1 || true
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
