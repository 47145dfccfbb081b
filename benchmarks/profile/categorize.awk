# Input: `perf script -F tid,ip,sym,dso -G` lines ("TID ADDR SYMBOL (DSO)"). Output: for the thread
# with the most samples, each category's samples as ns per exit (a sample is 1e9/hz ns of CPU).
function category(line) {
  if (line ~ /kernel\.kallsyms/) {
    if (line ~ / native_read_msr /) return "kernel: rdmsr in vcpu_load (trapped by the outer hypervisor)"
    if (line ~ /fpregs|fpstate|fpu/) return "kernel: FPU state swap"
    return "kernel: other (ioctl, KVM exit/entry, PIO emulation)"
  }
  if (line ~ /JS:|perf-[0-9]+\.map/) return "JS (runVcpu, buses, devices)"
  if (line ~ /nodevmm_kvm\.node/) return "addon (Vcpu::Run, Decode, wrapper)"
  if (line ~ /napi_|v8impl|node_napi/) return "Node-API (napi_*, v8impl)"
  if (line ~ /libc\.so/) return "libc (ioctl wrapper)"
  if (line ~ /Builtins_Atomics/) return "V8 builtins: Atomics (devices)"
  if (line ~ /Builtins_CallApiCallback/) return "V8: API callback entry"
  if (line ~ /v8::internal::(LookupIterator|Object::GetProperty|PropertyKey|Runtime::GetObjectProperty|JSObject)|v8::Object::GetPrivate/) return "V8: private-key lookup (napi_unwrap)"
  return "user space: other (V8/Node internals: handle scopes, try/catch, numbers; ld.so)"
}
NF >= 2 && $1 ~ /^[0-9]+$/ { samples[$1]++; by[$1, category($0)]++; cats[category($0)] = 1 }
END {
  best = ""; for (t in samples) if (best == "" || samples[t] > samples[best]) best = t
  ns = 1e9 / hz
  total = 0
  for (c in cats) if ((best, c) in by) { printf "%9.1f  %s\n", by[best, c] * ns / n, c | "sort -rn"; total += by[best, c] }
  close("sort -rn")
  printf "%9.1f  total (thread %s, %d samples; includes its start-up)\n", total * ns / n, best, samples[best]
}
