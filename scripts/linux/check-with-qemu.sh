#!/bin/sh
# Boots the artifacts of scripts/linux/fetch-guest.sh under QEMU with TCG (software emulation: QEMU
# cannot boot this kernel on kvm_pvm) and checks what /init does:
#   bzimage-poweroff  bzImage, 2 vCPUs, action=poweroff: "NODEVMM-INIT: up, cpus=2", then QEMU exits 0
#   bzimage-reboot    bzImage, 2 vCPUs, action=reboot, -no-reboot: the reboot makes QEMU exit
#   bzimage-stay      bzImage, 2 vCPUs, no action: "NODEVMM-INIT: stay", and QEMU still runs later
#   pvh-poweroff      the vmlinux through its PVH note, 4 vCPUs, action=poweroff: cpus=4, exits 0
#   echo              bzImage, 1 vCPU, action=echo: a line sent to the serial port comes back as
#                     "NODEVMM-ECHO: <line>"; then the line "poweroff" powers it off
#   busybox-shell     bzImage, 2 vCPUs, the busybox initramfs (fetch-busybox.sh, 64-bit user mode):
#                     a command typed into its shell runs, then `poweroff -f` powers it off
# It prints a PASS/FAIL line per case with its timings, and exits 1 when a case failed. The serial
# logs stay in .cache/linux/qemu-check/. QEMU (qemu-system-x86) is installed with apt when missing.
#
# Usage: scripts/linux/check-with-qemu.sh [CASE...]
# Environment: QEMU_TIMEOUT (seconds per boot, default 180), STAY_SECONDS (default 5),
#              and NODEVMM_CACHE_DIR as for fetch-guest.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=${QEMU_TIMEOUT:-180}
stay_s=${STAY_SECONDS:-5}

log() { printf 'check-with-qemu: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { log "qemu-system-x86_64 is missing: apt-get install qemu-system-x86"; exit 1; }
  log "installing qemu-system-x86"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 >&2; }
fi

envfile=$(mktemp)
trap 'rm -f "$envfile"' EXIT
sh "$here/fetch-guest.sh" > "$envfile"
. "$envfile"
log "kernel $KERNEL_PACKAGE $KERNEL_VERSION; $(qemu-system-x86_64 --version | head -n 1)"

out=${NODEVMM_CACHE_DIR:-$repo/.cache}/linux/qemu-check
mkdir -p "$out"
vm_pid=''
fifo=''
cleanup() {
  if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then kill "$vm_pid" 2>/dev/null || true; fi
  exec 3>&-
  [ -z "$fifo" ] || rm -f "$fifo.in" "$fifo.out"
  rm -f "$envfile"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_vm NAME SMP KERNEL APPEND [QEMU ARGS...]: serial on a FIFO pair, output copied to NAME.log
start_vm() {
  name=$1 smp=$2 kernel=$3 append=$4
  shift 4
  vm_log=$out/$name.log
  fifo=$out/$name.serial
  rm -f "$fifo.in" "$fifo.out" "$vm_log"
  mkfifo "$fifo.in" "$fifo.out"
  t0=$(now)
  qemu-system-x86_64 -accel tcg -M q35 -m 256 -smp "$smp" -nodefaults -no-user-config \
    -display none -chardev "pipe,id=ser0,path=$fifo" -serial chardev:ser0 \
    -kernel "$kernel" -initrd "${initrd:-$INITRAMFS}" -append "console=ttyS0 $append" "$@" \
    > "$out/$name.qemu.log" 2>&1 &
  vm_pid=$!
  cat "$fifo.out" > "$vm_log" &
  exec 3<>"$fifo.in"   # the guest's input; read-write so that opening never blocks
}

# wait_for TEXT: 0 once the serial log holds TEXT (sets t_found), 1 on timeout or QEMU's exit
wait_for() {
  while :; do
    if grep -qF -- "$1" "$vm_log" 2>/dev/null; then t_found=$(since "$t0"); return 0; fi
    if ! kill -0 "$vm_pid" 2>/dev/null; then
      sleep 0.2
      grep -qF -- "$1" "$vm_log" 2>/dev/null && { t_found=$(since "$t0"); return 0; }
      return 1
    fi
    [ "$(awk -v a="$t0" -v b="$(now)" -v t="$timeout_s" 'BEGIN { print (b - a > t) }')" -eq 0 ] || return 1
    sleep 0.1
  done
}

# wait_exit: waits (up to the timeout) for QEMU to end; sets vm_rc and t_exit
wait_exit() {
  while kill -0 "$vm_pid" 2>/dev/null; do
    [ "$(awk -v a="$t0" -v b="$(now)" -v t="$timeout_s" 'BEGIN { print (b - a > t) }')" -eq 0 ] ||
      { vm_rc=timeout; return 1; }
    sleep 0.1
  done
  t_exit=$(since "$t0")
  vm_rc=0
  wait "$vm_pid" || vm_rc=$?
  vm_pid=''
  return 0
}

stop_vm() {
  if [ -n "$vm_pid" ]; then
    kill "$vm_pid" 2>/dev/null || true
    wait "$vm_pid" 2>/dev/null || true
    vm_pid=''
  fi
  exec 3>&-
  wait 2>/dev/null || true   # the cat
  rm -f "$fifo.in" "$fifo.out"
  fifo=''
}

# The kernel's own clock when it started /init ("[    1.234567] Run /init as init process")
guest_init_time() {
  sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$vm_log" | head -n 1
}

failed=0
pass() { printf 'PASS %-17s %s\n' "$1" "$2"; }
fail() {
  printf 'FAIL %-17s %s (serial log: %s)\n' "$1" "$2" "$vm_log"
  tail -n 15 "$vm_log" | sed 's/^/    | /' >&2
  failed=1
  stop_vm
}

# wait_init NAME CPUS MARKER: /init's "up" line with CPUS (sets t_up), then "NODEVMM-INIT: MARKER"
wait_init() {
  wait_for "NODEVMM-INIT: up, cpus=$2" || { fail "$1" "no 'NODEVMM-INIT: up, cpus=$2'"; return 1; }
  t_up=$t_found
  wait_for "NODEVMM-INIT: $3" || { fail "$1" "no 'NODEVMM-INIT: $3'"; return 1; }
}

# exits_zero NAME: QEMU ends within the timeout (sets t_exit) with status 0
exits_zero() {
  wait_exit || { fail "$1" "QEMU still running after ${timeout_s}s"; return 1; }
  [ "$vm_rc" -eq 0 ] || { fail "$1" "QEMU exited with $vm_rc"; return 1; }
}

# boot_and_exit NAME SMP KERNEL ACTION EXPECT_EXIT_TEXT [QEMU ARGS...]
boot_and_exit() {
  name=$1 smp=$2 kernel=$3 action=$4 final=$5
  shift 5
  start_vm "$name" "$smp" "$kernel" "action=$action" "$@"
  wait_init "$name" "$smp" "$action" || return
  exits_zero "$name" || return
  grep -qF "$final" "$vm_log" || { fail "$name" "no '$final' from the kernel"; return; }
  ! grep -qF 'NODEVMM-INIT: warning' "$vm_log" || { fail "$name" "/init printed a warning"; return; }
  stop_vm
  pass "$name" "/init up at ${t_up}s (kernel clock $(guest_init_time)s), '$final', QEMU exited 0 at ${t_exit}s"
}

case_bzimage_poweroff() {
  boot_and_exit bzimage-poweroff 2 "$KERNEL_BZIMAGE" poweroff 'reboot: Power down'
}
case_bzimage_reboot() {
  boot_and_exit bzimage-reboot 2 "$KERNEL_BZIMAGE" reboot 'reboot: Restarting system' -no-reboot
}
case_pvh_poweroff() {
  boot_and_exit pvh-poweroff 4 "$KERNEL_VMLINUX" poweroff 'reboot: Power down'
}
case_bzimage_stay() {
  name=bzimage-stay
  start_vm "$name" 2 "$KERNEL_BZIMAGE" ''
  wait_init "$name" 2 stay || return
  sleep "$stay_s"
  kill -0 "$vm_pid" 2>/dev/null || { fail "$name" "QEMU ended although /init should stay"; return; }
  if grep -qE 'Kernel panic|Attempted to kill init' "$vm_log"; then fail "$name" "kernel panic"; return; fi
  ! grep -qF 'NODEVMM-INIT: warning' "$vm_log" || { fail "$name" "/init printed a warning"; return; }
  stop_vm
  pass "$name" "/init up at ${t_up}s (kernel clock $(guest_init_time)s), still running ${stay_s}s after 'stay'"
}
case_echo() {
  name=echo
  start_vm "$name" 1 "$KERNEL_BZIMAGE" 'action=echo'
  wait_init "$name" 1 echo || return
  printf 'hello from the host\n' >&3
  wait_for 'NODEVMM-ECHO: hello from the host' || { fail "$name" "the line did not come back"; return; }
  t_echo=$t_found
  printf 'poweroff\n' >&3
  wait_for 'NODEVMM-INIT: poweroff' || { fail "$name" "'poweroff' on the console did nothing"; return; }
  exits_zero "$name" || return
  stop_vm
  pass "$name" "/init up at ${t_up}s, line echoed at ${t_echo}s, 'poweroff' typed -> QEMU exited 0 at ${t_exit}s"
}

case_busybox_shell() {
  name=busybox-shell
  initrd=$(sh "$here/fetch-busybox.sh" | sed -n 's/^INITRAMFS_BUSYBOX=//p')
  start_vm "$name" 2 "$KERNEL_BZIMAGE" ''
  initrd=''
  wait_init "$name" 2 shell || return
  # The tty echoes the command line itself: only the shell's arithmetic makes "answer-42".
  printf 'echo answer-$((6*7)) on $(uname -m)\n' >&3
  wait_for 'answer-42 on x86_64' || { fail "$name" "the shell did not run the command"; return; }
  t_shell=$t_found
  printf 'poweroff -f\n' >&3
  exits_zero "$name" || return
  stop_vm
  pass "$name" "/init up at ${t_up}s, a typed command ran at ${t_shell}s, 'poweroff -f' -> QEMU exited 0 at ${t_exit}s"
}

cases=${*:-bzimage-poweroff bzimage-reboot bzimage-stay pvh-poweroff echo busybox-shell}
for c in $cases; do
  case $c in
    bzimage-poweroff) case_bzimage_poweroff ;;
    bzimage-reboot)   case_bzimage_reboot ;;
    bzimage-stay)     case_bzimage_stay ;;
    pvh-poweroff)     case_pvh_poweroff ;;
    echo)             case_echo ;;
    busybox-shell)    case_busybox_shell ;;
    *) log "unknown case: $c"; exit 2 ;;
  esac
done
exit "$failed"
