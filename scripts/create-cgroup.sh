#!/usr/bin/env bash
# Prepares the cgroup that venus-worker puts its external processors in ([processors.<stage>.subs.cgroup]
# cpuset = "…"), and gives it to the current user. Run it as the user that will run venus-worker: it uses
# sudo for the privileged steps.
#
#   ./create-cgroup.sh [GROUP]          GROUP defaults to vc-worker (the config's cgroup.group_name default)
#
# cgroup v2 (unified hierarchy): creates /sys/fs/cgroup/GROUP, enables the cpuset controller for it and its
# children, and chowns it to you. The worker then creates GROUP/sub-<stage>-<pid>-<idx> per sub, writes its
# cpuset.cpus and moves the sub there. cgroup v2 only lets a user move a process between cgroups when it may
# write cgroup.procs of their common ancestor, so start venus-worker from inside the group:
#   echo $$ | sudo tee /sys/fs/cgroup/GROUP/daemon/cgroup.procs    (moves this shell into GROUP/daemon)
# The script prints that line for you; running as root needs none of it.
#
# cgroup v1 (legacy): creates GROUP under every controller and chowns it, as the original script did.
set -euo pipefail

group="${1:-vc-worker}"
user="$(id -un)"
root=/sys/fs/cgroup

if [ -f "$root/cgroup.controllers" ]; then
  if ! grep -qw cpuset "$root/cgroup.controllers"; then
    echo "the cpuset controller is not available in $root/cgroup.controllers" >&2
    exit 1
  fi
  sudo mkdir -p "$root/$group/daemon"
  # cpuset must be enabled at every level down to the sub cgroups
  echo +cpuset | sudo tee "$root/cgroup.subtree_control" >/dev/null
  echo +cpuset | sudo tee "$root/$group/cgroup.subtree_control" >/dev/null
  sudo chown -R "$user:" "$root/$group"
  echo "cgroup v2: $root/$group ready for $user (cpuset enabled)"
  if [ "$(id -u)" != 0 ]; then
    echo "start venus-worker from a shell inside the group, e.g.:"
    echo "  echo \$\$ | sudo tee $root/$group/daemon/cgroup.procs"
  fi
else
  for subsystem in "$root"/*; do
    [ -d "$subsystem" ] || continue
    sudo mkdir -p "$subsystem/$group"
    sudo chown -R "$user:" "$subsystem/$group"
    echo "$subsystem/$group"
  done
  echo "cgroup v1: $group ready for $user under every controller"
fi
