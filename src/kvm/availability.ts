// Whether /dev/kvm can be used here, and if not, why, in one line a user can act on. The VMM says it
// once when a boot fails; `npm test`, `npm start` and `npm run bench` use it to pick the nested-KVM box.
import { closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { native, type NativeKvm } from './native.js';

export const KVM_DEVICE = '/dev/kvm';

/** What the diagnosis looks at; the defaults read this machine. Tests pass their own. */
export interface KvmProbe {
  /** opens the device read-write and closes it; throws the open's error */
  open(path: string): void;
  exists(path: string): boolean;
  readText(path: string): string | undefined;
  /** the group id that owns the device, if it can be stat'ed */
  groupId(path: string): number | undefined;
}

export const hostProbe: KvmProbe = {
  open(path) {
    closeSync(openSync(path, constants.O_RDWR));
  },
  exists: existsSync,
  readText(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  groupId(path) {
    try {
      return statSync(path).gid;
    } catch {
      return undefined;
    }
  },
};

const VENDOR_MODULES = ['kvm_intel', 'kvm_amd'];

function cpuHasVirtualization(probe: KvmProbe): boolean | undefined {
  const cpuinfo = probe.readText('/proc/cpuinfo');
  if (cpuinfo === undefined) return undefined;
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}

function whyMissing(probe: KvmProbe): string {
  const loaded = VENDOR_MODULES.filter((m) => probe.exists(`/sys/module/${m}`));
  if (loaded.length > 0) return `${loaded.join(' and ')} is loaded but made no device (is udev or devtmpfs missing?)`;
  if (probe.exists('/sys/module/kvm_pvm')) {
    return 'only kvm_pvm is loaded and it did not bind (it refuses on a machine that is itself a PVM guest), and the CPU offers no vmx or svm';
  }
  const virtualization = cpuHasVirtualization(probe);
  if (virtualization === false) {
    return 'the CPU offers no hardware virtualization (no vmx or svm flag in /proc/cpuinfo); on a cloud VM, nested virtualization is off';
  }
  return 'the KVM module is not loaded (modprobe kvm_intel or kvm_amd, as root)';
}

function groupName(probe: KvmProbe, gid: number | undefined): string {
  if (gid === undefined) return 'kvm';
  const line = probe
    .readText('/etc/group')
    ?.split('\n')
    .find((entry) => entry.split(':')[2] === String(gid));
  return line?.split(':')[0] || `gid ${gid}`;
}

/** null when `path` opens read-write; else one line that names the cause and the remedy. */
export function kvmProblem(path = KVM_DEVICE, probe: KvmProbe = hostProbe): string | null {
  try {
    probe.open(path);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    switch (code) {
      case 'ENOENT':
        return `${path} does not exist: ${whyMissing(probe)}`;
      case 'EACCES':
      case 'EPERM': {
        const group = groupName(probe, probe.groupId(path));
        return `${path}: permission denied: add this user to group '${group}' (usermod -aG ${group} $USER, then log in again)`;
      }
      case 'ENXIO':
      case 'ENODEV':
        return `${path} exists but no KVM driver serves it: ${whyMissing(probe)}`;
      default:
        return `${path} cannot be opened: ${(error as Error).message}`;
    }
  }
}

/** Opens KVM through the addon; a failure carries the diagnosis instead of a bare errno. */
export function openKvm(): NativeKvm {
  try {
    return new (native().Kvm)(KVM_DEVICE);
  } catch (error) {
    const problem = kvmProblem();
    throw problem === null ? error : new Error(problem);
  }
}
