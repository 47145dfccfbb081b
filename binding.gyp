{
  "targets": [
    {
      "target_name": "nodevmm_kvm",
      "sources": [
        "native/addon.cc",
        "native/eventfd.cc",
        "native/fast_entry.cc",
        "native/fd_reader.cc",
        "native/guest_memory.cc",
        "native/kick.cc",
        "native/memory_pages.cc",
        "native/pty.cc",
        "native/tap.cc",
        "native/thread_name.cc",
        "native/unix_socket.cc",
        "native/vcpu.cc",
        "native/vcpu_state.cc",
        "native/vm.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=9", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
