// What `npm test` (default) and `npm run test:linux` (linux) run, and how in the box.
import { BOX_SCALE } from '../../test/helpers/timing.js';

export { SKIP_VARIABLE } from '../../test/helpers/opt-out.js';

export interface Suite {
  name: string;
  /** arguments for every ava run of the suite */
  avaArgs: string[];
  /** the tests that need no KVM: run on this machine */
  unitFiles: string[];
  /** the tests that run guests: natively with /dev/kvm, else in the box */
  guestFiles: string[];
  /** more ava arguments in the box: per-test timeouts scaled as test/helpers/timing.ts scales waits */
  boxAvaArgs: string[];
  /** the whole guest run's limit, natively or in the box */
  boxTimeoutSeconds: number;
  /**
   * The guests need hardware virtualization: on a kvm_pvm host (guest kernel code emulated, 64-bit user
   * mode broken: docs/PLATFORM.md) they run in the box instead, which has ordinary SVM.
   */
  needsHardwareVirtualization: boolean;
}

const SUITES: Record<string, Suite> = {
  default: {
    name: 'test',
    avaArgs: [],
    unitFiles: ['dist/test/unit/**/*.test.js'],
    guestFiles: ['dist/test/kvm/**/*.test.js'],
    // package.json's ava timeout is 2m. One test at a time in the box: two files at once, and later
    // a file's tests at once, froze it (docs/DECISIONS.md, "The box runs one test at a time").
    boxAvaArgs: [`--timeout=${2 * BOX_SCALE}m`, '--concurrency=1', '--serial'],
    boxTimeoutSeconds: 40 * 60,
    needsHardwareVirtualization: false,
  },
  stress: {
    name: 'test:stress',
    avaArgs: [],
    unitFiles: [],
    // API fuzzing and the load and fault tests (issue 13): real VMMs with the tiny guests
    guestFiles: ['dist/test/stress/**/*.test.js'],
    boxAvaArgs: [`--timeout=${2 * BOX_SCALE}m`, '--concurrency=1', '--serial'],
    boxTimeoutSeconds: 30 * 60,
    needsHardwareVirtualization: false,
  },
  libvirt: {
    name: 'test:libvirt',
    avaArgs: [],
    unitFiles: [],
    // real virtchd and virsh (scripts/libvirt/build.sh) driving nodevmm as `cloud-hypervisor` (issue 14)
    guestFiles: ['dist/test/libvirt/**/*.test.js'],
    boxAvaArgs: [`--timeout=${2 * BOX_SCALE}m`, '--concurrency=1', '--serial'],
    boxTimeoutSeconds: 20 * 60,
    // its Linux guest runs the busybox shell: 64-bit user mode
    needsHardwareVirtualization: true,
  },
  linux: {
    name: 'test:linux',
    avaArgs: ['--config', 'ava.linux.config.js'],
    unitFiles: [],
    guestFiles: ['dist/test/linux/**/*.test.js'],
    boxAvaArgs: [],
    boxTimeoutSeconds: 30 * 60,
    needsHardwareVirtualization: true,
  },
};

export function suiteFor(name: string): Suite {
  const suite = SUITES[name];
  if (!suite) throw new Error(`unknown test suite '${name}' (known: ${Object.keys(SUITES).join(', ')})`);
  return suite;
}
