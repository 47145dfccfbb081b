// `npm run test:linux`: the Debian kernel boots under nodevmm (slow on kvm_pvm: minutes per boot).
export default {
  files: ['dist/test/linux/**/*.test.js'],
  timeout: '20m',
  workerThreads: false,
  concurrency: 1,
};
