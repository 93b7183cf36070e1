#!/usr/bin/env bash
# local-cluster.sh - a single-node Slurm cluster on this machine, for trying
# `gdscope sweep --backend slurm` without a real cluster and for the CI tests.
#
# usage: bash scripts/slurm/local-cluster.sh up | down | status | env | help
#
#   up      install slurmctld, slurmd, slurm-client and munge with apt-get when
#           missing; start a private munged, slurmctld and slurmd; wait until
#           the node is idle. Does nothing when the cluster is already up, and
#           clears a dead or half-started one first.
#   down    cancel every job, stop the three daemons (by the PIDs 'up'
#           recorded), remove the state directory. Safe when nothing runs.
#   status  daemons, node state and queue; exit status 0 only when all is up.
#   env     print `export SLURM_CONF=...` (use: eval "$(bash ... env)").
#
# Settings (environment):
#   GDSCOPE_SLURM_DIR      state, config, logs, MUNGE key and socket
#                          (default /tmp/gdscope-slurm; must be executable, scripts run there)
#   GDSCOPE_SLURM_WAIT     seconds 'up' waits for the node to become idle (default 60)
#   GDSCOPE_SLURM_PORTS    "CTLD,SLURMD" TCP ports (default "6817,6818")
#
# Needs root and a Debian-like system (apt-get, dpkg); no systemd. The daemons
# run as root, there is no accounting database (sacct does not work; squeue -t all
# and scontrol show job do, for an hour after a job ends), and no cgroups.
# docs/sweeps.md ("A Slurm cluster on your machine") explains the choices.
set -euo pipefail

SELF=${0##*/}
STATE=${GDSCOPE_SLURM_DIR:-/tmp/gdscope-slurm}
WAIT_S=${GDSCOPE_SLURM_WAIT:-60}
PORTS=${GDSCOPE_SLURM_PORTS:-6817,6818}
CTLD_PORT=${PORTS%%,*}
SLURMD_PORT=${PORTS##*,}

OWNER_MARK=$STATE/.gdscope-slurm   # written first by 'up': 'down' only removes a directory that has it
CONF=$STATE/etc/slurm.conf
MUNGE_KEY=$STATE/etc/munge.key
SOCKET=$STATE/run/munge.sock
DAEMONS=$STATE/run/daemons         # one line per started daemon: NAME PID START-TIME
LOGS=$STATE/log
PARTITION=local
NEEDED_PACKAGES="slurmctld slurmd slurm-client munge"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

say() { echo "$SELF: $*" >&2; }
fail() { say "error: $*"; exit 1; }

usage() { sed -n '2,24p' "$0" | sed -e 's/^#//' -e 's/^ //'; }

validate_settings() {
  [[ $STATE == /* ]] || fail "GDSCOPE_SLURM_DIR must be an absolute path, not '$STATE'"
  [[ $STATE =~ ^/[A-Za-z0-9._/-]+$ ]] || fail "GDSCOPE_SLURM_DIR may only hold letters, digits and ._/- ('$STATE')"
  [[ ${STATE%/} != "" && $STATE != "/tmp" && $STATE != "/tmp/" ]] || fail "GDSCOPE_SLURM_DIR must be a directory of its own"
  [[ $WAIT_S =~ ^[0-9]+$ ]] || fail "GDSCOPE_SLURM_WAIT must be a number of seconds"
  [[ $CTLD_PORT =~ ^[0-9]+$ && $SLURMD_PORT =~ ^[0-9]+$ && $CTLD_PORT != "$SLURMD_PORT" ]] ||
    fail "GDSCOPE_SLURM_PORTS must be two different port numbers, e.g. 6817,6818"
}

require_root() { [[ $(id -u) == 0 ]] || fail "run as root: the daemons run as root and apt-get needs it"; }

# ------------------------------------------------------------- processes
# A daemon is identified by its PID *and* its start time (field 22 of
# /proc/PID/stat), so a PID the kernel reused for another process is never
# mistaken for ours.

start_time() { # PID -> start time in clock ticks since boot; fails if no such process
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }            # drop "pid (comm) ", comm may contain spaces
  set -- $stat
  [[ $1 != Z ]] || return 1    # a zombie has finished
  echo "${20}"
}

alive() { # PID START -> true while that very process runs
  [[ -n $1 && -n $2 && "$(start_time "$1" 2>/dev/null || true)" == "$2" ]]
}

remember() { # NAME PIDFILE -> waits for the daemon's pid file, records "NAME PID START"
  local name=$1 pidfile=$2 pid start i
  for i in $(seq 100); do
    if [[ -s $pidfile ]]; then
      pid=$(tr -cd '0-9' <"$pidfile")
      if start=$(start_time "$pid"); then
        echo "$name $pid $start" >>"$DAEMONS"
        say "$name running (pid $pid)"
        return 0
      fi
    fi
    sleep 0.1
  done
  fail "$name did not start (no live pid in $pidfile); see $LOGS"
}

pid_of() { # NAME -> PID when the recorded daemon still runs
  local name pid start
  [[ -f $DAEMONS ]] || return 1
  while read -r name pid start; do
    [[ $name == "$1" ]] && alive "$pid" "$start" && { echo "$pid"; return 0; }
  done <"$DAEMONS"
  return 1
}

everything_up() { pid_of munged >/dev/null && pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null; }

stop_daemon() { # NAME PID START -> SIGTERM, SIGKILL after 10 s
  local name=$1 pid=$2 start=$3 i
  alive "$pid" "$start" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do alive "$pid" "$start" || { say "stopped $name (pid $pid)"; return 0; }; sleep 0.1; done
  say "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 50); do alive "$pid" "$start" || return 0; sleep 0.1; done
  say "could not stop $name (pid $pid)"
  return 1
}

# Processes of this cluster's jobs that outlived their daemons (after a crash):
# slurmd puts SLURM_CONF=<our config> and SLURM_JOB_ID in every job's
# environment, and a slurmstepd of ours holds files under $STATE open.
orphans() {
  local dir pid env me=" $$ $PPID "
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $me == *" $pid "* ]] && continue
    env=$(tr '\0' '\n' 2>/dev/null <"$dir/environ") || env=
    if grep -qxF "SLURM_CONF=$CONF" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; then
      echo "$pid"
    elif [[ $(cat 2>/dev/null "$dir/comm") == slurmstepd ]] &&
      ls -l "$dir/fd" 2>/dev/null | grep -qF -- "-> $STATE/"; then
      echo "$pid"
    fi
  done
}

stop_everything() {
  local rc=0 name pid start wanted
  if [[ -f $DAEMONS ]]; then
    for wanted in slurmd slurmctld munged; do    # node, controller, then authentication
      while read -r name pid start; do
        [[ $name == "$wanted" ]] && { stop_daemon "$name" "$pid" "$start" || rc=1; }
      done <"$DAEMONS"
    done
  fi
  for pid in $(orphans); do
    start=$(start_time "$pid" 2>/dev/null) || continue
    say "killing leftover job process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60))"
    kill -KILL "$pid" 2>/dev/null || true
  done
  return $rc
}

port_taken() { # PORT -> true when something listens on it
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { hit = 1 } END { exit !hit }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ------------------------------------------------------------- install

install_packages() {
  local missing="" p made_policy=""
  for p in $NEEDED_PACKAGES; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) == installed ]] || missing="$missing $p"
  done
  [[ -z $missing ]] && return 0
  command -v apt-get >/dev/null || fail "packages missing:$missing, and there is no apt-get to install them"
  say "installing$missing (apt-get)"
  # The packages' maintainer scripts would start daemons of their own through
  # init scripts; a policy-rc.d answering 101 ("action forbidden") prevents it.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local log rc=0
  log=$(mktemp)
  { DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update &&
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
      --no-install-recommends install $missing; } >"$log" 2>&1 || rc=$?
  [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $rc != 0 ]]; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    fail "apt-get could not install$missing"
  fi
  rm -f "$log"
}

# ------------------------------------------------------------- configuration

node() { hostname -s 2>/dev/null || hostname; }

hardware() { # the node's CPUs, sockets, cores, threads, memory as slurmd -C sees them
  local word out=""
  for word in $(slurmd -C 2>/dev/null | head -n 1); do
    case $word in
      CPUs=* | Boards=* | SocketsPerBoard=* | CoresPerSocket=* | ThreadsPerCore=* | RealMemory=*) out="$out $word" ;;
    esac
  done
  [[ -n $out ]] || fail "'slurmd -C' could not describe this machine"
  echo "${out# }"
}

write_config() {
  cat >"$CONF" <<CONF
# Written by $SELF ('down' removes it). One node, one partition, no accounting.
ClusterName=gdscope-local
SlurmctldHost=$1(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
# No cgroups, no accounting database (squeue -t all keeps finished jobs for MinJobAge).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
MinJobAge=3600
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
EnforcePartLimits=ALL
KillWait=5
MailProg=/bin/true
NodeName=$1 NodeAddr=127.0.0.1 NodeHostname=$1 $2 State=UNKNOWN
PartitionName=$PARTITION Nodes=$1 Default=YES MaxTime=INFINITE State=UP
CONF
}

node_state() { SLURM_CONF=$CONF sinfo -h -N -n "$1" -o %T 2>/dev/null | head -n 1 || true; }

# ------------------------------------------------------------- commands

up() {
  require_root
  local t0=$SECONDS name hw state i
  if [[ -f $OWNER_MARK ]]; then
    if everything_up; then
      say "already up ($STATE)"
      hint
      return 0
    fi
    say "clearing a stopped or half-started cluster in $STATE"
    down
  elif [[ -e $STATE && -n $(ls -A "$STATE" 2>/dev/null) ]]; then
    fail "$STATE is not empty and was not made by $SELF; set GDSCOPE_SLURM_DIR to another directory"
  fi
  for i in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_taken "$i" && fail "port $i is already in use (another Slurm?); set GDSCOPE_SLURM_PORTS"
  done
  install_packages
  name=$(node)
  hw=$(hardware)

  mkdir -p "$STATE"
  : >"$OWNER_MARK"
  mkdir -p "$STATE/etc" "$STATE/run" "$STATE/ctld" "$STATE/spool" "$LOGS"
  chmod 0755 "$STATE" "$STATE/etc" "$STATE/run" "$LOGS"
  chmod 0700 "$STATE/ctld" "$STATE/spool"
  : >"$DAEMONS"
  trap 'up_failed' EXIT

  # A private MUNGE key and munged on its own socket: a system munged and
  # /etc/munge stay untouched.
  dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
  chmod 0400 "$MUNGE_KEY"
  munged --key-file="$MUNGE_KEY" --socket="$SOCKET" --pid-file="$STATE/run/munged.pid" \
    --log-file="$LOGS/munged.log" --seed-file="$STATE/etc/munge.seed" || fail "munged did not start"
  remember munged "$STATE/run/munged.pid"
  for i in $(seq 50); do
    munge -n -S "$SOCKET" 2>/dev/null | unmunge -S "$SOCKET" >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n -S "$SOCKET" | unmunge -S "$SOCKET" >/dev/null || fail "MUNGE cannot encode and decode a credential"

  write_config "$name" "$hw"
  slurmctld -f "$CONF" || fail "slurmctld did not start"
  remember slurmctld "$STATE/run/slurmctld.pid"
  slurmd -f "$CONF" || fail "slurmd did not start"
  remember slurmd "$STATE/run/slurmd.pid"

  for i in $(seq $((WAIT_S * 5))); do
    state=$(node_state "$name")
    [[ $state == idle ]] && break
    everything_up || fail "a daemon exited while the cluster was starting"
    sleep 0.2
  done
  [[ $state == idle ]] || fail "node $name is '${state:-unknown}', not idle, after ${WAIT_S} s"
  trap - EXIT
  say "up in $((SECONDS - t0)) s: node $name ($hw), partition $PARTITION"
  hint
}

up_failed() {
  local f
  for f in "$LOGS"/munged.log "$LOGS"/slurmctld.log "$LOGS"/slurmd.log; do
    [[ -s $f ]] && { echo "--- end of $f" >&2; tail -n 12 "$f" >&2; }
  done
  say "up failed; stopping what it started (logs kept in $LOGS until 'down')"
  stop_everything || true
}

hint() {
  cat <<HINT
Slurm is up: partition '$PARTITION' on this machine.
  eval "\$(bash $0 env)"          # sets SLURM_CONF for sbatch, squeue, scancel, sinfo
  gdscope sweep --config base.toml --grid optimizer.lr=0.02,0.04 --backend slurm --out runs/sw
  bash $0 down                    # cancel jobs, stop the daemons, remove $STATE
HINT
}

down() {
  require_root
  local jobs i
  if [[ ! -f $OWNER_MARK ]]; then
    [[ -e $STATE ]] && fail "$STATE was not made by $SELF; leaving it alone"
    say "nothing to stop ($STATE does not exist)"
    return 0
  fi
  if pid_of slurmctld >/dev/null; then
    jobs=$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [[ -n ${jobs// /} ]]; then
      say "cancelling jobs $jobs"
      SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
      for i in $(seq 120); do
        [[ -z $(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null || true) ]] && break
        sleep 0.25
      done
    fi
  fi
  stop_everything || fail "some processes would not stop; $STATE left in place"
  rm -rf -- "$STATE"
  say "down: removed $STATE"
}

status() {
  local name rc=0 pid
  if [[ ! -f $OWNER_MARK ]]; then
    echo "no cluster ($STATE does not exist)"
    return 1
  fi
  for name in munged slurmctld slurmd; do
    if pid=$(pid_of "$name"); then echo "$name: running, pid $pid"; else echo "$name: stopped"; rc=1; fi
  done
  [[ $rc == 0 ]] || return 1
  echo "node $(node): $(node_state "$(node)")"
  SLURM_CONF=$CONF squeue || rc=1
  return $rc
}

validate_settings
case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
