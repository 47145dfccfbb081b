import test from 'ava';
import { kvmProblem, type KvmProbe } from '../../../src/kvm/availability.js';

function errno(code: string): Error {
  return Object.assign(new Error(`open: ${code}`), { code });
}

/** A machine described by what opening fails with, which modules are loaded and what files say. */
function machine(openError: string | null, modules: string[], files: Record<string, string> = {}, gid?: number): KvmProbe {
  return {
    open() {
      if (openError) throw errno(openError);
    },
    exists: (path) => modules.some((m) => path === `/sys/module/${m}`),
    readText: (path) => files[path],
    groupId: () => gid,
  };
}

const svmCpu = { '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu sse2 svm npt\n' };
const plainCpu = { '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n' };

test('a device that opens is no problem', (t) => {
  t.is(kvmProblem('/dev/kvm', machine(null, [])), null);
});

test('no device: each cause is named with its remedy', (t) => {
  t.regex(kvmProblem('/dev/kvm', machine('ENOENT', ['kvm', 'kvm_pvm'], plainCpu))!, /^\/dev\/kvm does not exist: only kvm_pvm is loaded and it did not bind/);
  t.regex(kvmProblem('/dev/kvm', machine('ENOENT', [], plainCpu))!, /no vmx or svm flag .* nested virtualization is off/);
  t.regex(kvmProblem('/dev/kvm', machine('ENOENT', [], svmCpu))!, /the KVM module is not loaded \(modprobe kvm_intel or kvm_amd/);
  t.regex(kvmProblem('/dev/kvm', machine('ENOENT', ['kvm', 'kvm_amd'], svmCpu))!, /kvm_amd is loaded but made no device/);
});

test('permission denied names the group that owns the device', (t) => {
  const files = { '/etc/group': 'root:x:0:\nkvm:x:993:alice\n' };
  t.is(
    kvmProblem('/dev/kvm', machine('EACCES', ['kvm_intel'], files, 993)),
    "/dev/kvm: permission denied: add this user to group 'kvm' (usermod -aG kvm $USER, then log in again)",
  );
  t.regex(kvmProblem('/dev/kvm', machine('EACCES', [], files, 77))!, /group 'gid 77'/);
});

test('a device without a driver, and any other error, say so in one line', (t) => {
  t.regex(kvmProblem('/dev/kvm', machine('ENXIO', ['kvm_pvm'], plainCpu))!, /^\/dev\/kvm exists but no KVM driver serves it: only kvm_pvm/);
  const other = kvmProblem('/dev/kvm', machine('EIO', []))!;
  t.is(other, '/dev/kvm cannot be opened: open: EIO');
  t.false(other.includes('\n'));
});
