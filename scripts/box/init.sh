#!/bin/busybox sh
# /init of the nested-KVM box (scripts/box/README.md). It loads kvm_amd and 9p, mounts the host's /
# over 9p, and runs the job the runner wrote (box_job=PATH on the kernel command line) chrooted there.
# The job's output goes to the second serial port, which the runner streams; its exit status goes to
# a file beside the job; then the box powers off. What the box itself says goes to the first serial
# port, the kernel's console, prefixed "nodevmm-box:".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "nodevmm-box: $*" > /dev/console; }
fail() {
  say "FAILED: $*"
  poweroff -f
}

# kvm_amd's parameters, if the runner gives any (box_kvm_amd=npt=0,avic=1 on the command line)
kvm_amd_params=$(sed -n 's/.*box_kvm_amd=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
for m in $(cat /modules.list); do
  params=
  [ "$m" = kvm-amd.ko ] && params=$kvm_amd_params
  # shellcheck disable=SC2086 # one word per parameter
  insmod "/modules/$m" $params || fail "insmod $m $params"
done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm_amd (does the box's CPU have svm and npt?)"
# One VM held for the box's life, so that KVM's VM count never falls to zero between a VMM's
# builds: each crossing live-patches the box kernel's scheduler, which stalled QEMU's TCG (kvm-keeper.c).
/bin/kvm-keeper &
usleep 200000
kill -0 $! 2>/dev/null || fail "kvm-keeper could not hold a VM open"

mkdir -p /host
cache=$(sed -n 's/.*box_9p_cache=\([^ ]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,cache=${cache:-none}" host /host ||
  fail "mount of the host's / over 9p"
# The host's own /dev, /proc and /sys would be wrong here; /dev/shm and /run are tmpfs of the box's
# own because QEMU's 9p server refuses to open special files (sockets, FIFOs).
mount -t devtmpfs devtmpfs /host/dev || fail "mount /dev"
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /host/dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm || fail "mount /dev/shm"
mount -t proc proc /host/proc || fail "mount /proc"
mount -t sysfs sysfs /host/sys || fail "mount /sys"
mount -t tmpfs -o mode=0755 tmpfs /host/run || fail "mount /run"
mkdir -m 1777 /host/run/tmp
# The box has no network, but tcp: tests (migration) need 127.0.0.1: the loopback starts down.
ip link set lo up || fail "bringing up the loopback interface"

job=$(sed -n 's/.*box_job=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$job" ] && [ -f "/host$job" ] || fail "no job: box_job='$job' is not a file on the 9p share"
say "up: /dev/kvm ready, running $job"
# The kernel's and modules' text symbols, once per prepared box (the box boots with nokaslr, so they
# stay put): a frozen box's registers, which the runner dumps, are read against them.
kallsyms=$(sed -n 's/.*box_kallsyms=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$kallsyms" ]; then
  grep -i ' t ' /proc/kallsyms > "/host$kallsyms.tmp" && mv "/host$kallsyms.tmp" "/host$kallsyms"
fi
# A heartbeat on the kernel's console: the runner tells a box whose CPUs stopped (no heartbeat: the
# emulator froze, docs/DECISIONS.md) from a job that is only slow or hung (heartbeats go on).
( while :; do sleep 10; say "alive"; done ) &

# The output travels through a FIFO so that a process the job leaves behind cannot hold it open.
stty -F /dev/ttyS1 raw -echo
mkfifo /output
cat /output > /dev/ttyS1 &
pump=$!
chroot /host /bin/sh "$job" < /dev/null > /output 2>&1
status=$?
echo "$status" > "/host${job%/*}/status"
say "job ended with status $status"
i=0
while kill -0 "$pump" 2>/dev/null && [ "$i" -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
kill -9 -1 2>/dev/null
sync
poweroff -f
