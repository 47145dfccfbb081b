#!/bin/busybox sh
# /init of nodevmm's busybox initramfs (scripts/linux/fetch-busybox.sh): for hosts whose KVM runs
# 64-bit user programs (hardware virtualization). Same markers and `action=` as guests/linux/init.S,
# plus `shell` (the default here): a busybox shell on the console, with job control.
# On kvm_pvm it dies at its first system call (docs/PLATFORM.md §3): use the default initramfs there.
/bin/busybox --install -s /bin
mount -t proc proc /proc || echo "NODEVMM-INIT: warning: cannot mount /proc"
mount -t sysfs sysfs /sys || echo "NODEVMM-INIT: warning: cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || echo "NODEVMM-INIT: warning: cannot mount /dev"
# The virtio initramfs (scripts/linux/fetch-virtio.sh) carries kernel modules, in load order.
if [ -f /modules.list ]; then
  while read -r module; do
    insmod "/modules/$module" || echo "NODEVMM-INIT: warning: insmod $module failed"
  done < /modules.list
fi
echo "NODEVMM-INIT: up, cpus=$(nproc)"
# The kernel hands unknown key=value parameters without a dot to init's environment.
case "${action:-shell}" in
  poweroff) echo "NODEVMM-INIT: poweroff"; sync; poweroff -f ;;
  reboot) echo "NODEVMM-INIT: reboot"; sync; reboot -f ;;
  stay) echo "NODEVMM-INIT: stay" ;;
  shell)
    # busybox's poweroff, halt and reboot signal PID 1 (USR2, USR1, TERM) and leave the rest to it;
    # the kernel delivers to PID 1 only the signals it handles, and a shell runs a trap only between
    # commands, so the shell runs in the background while PID 1 waits.
    trap 'echo "NODEVMM-INIT: poweroff"; sync; poweroff -f' USR1 USR2
    trap 'echo "NODEVMM-INIT: reboot"; sync; reboot -f' TERM
    echo "NODEVMM-INIT: shell"
    # A new shell when one ends; cttyhack makes the console its controlling tty. A background list's
    # stdin would be /dev/null, hence the redirections.
    (trap - USR1 USR2 TERM; while :; do setsid cttyhack sh -l; done) < /dev/console > /dev/console 2>&1 &
    while :; do wait; done ;;
  *) echo "NODEVMM-INIT: unknown action=$action" ;;
esac
while :; do sleep 3600; done
