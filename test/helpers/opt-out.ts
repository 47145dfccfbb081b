/** Set to 1 to skip the tests that run real guests (never in CI); ava then lists each as skipped. */
export const SKIP_VARIABLE = 'NODEVMM_SKIP_KVM_TESTS';
