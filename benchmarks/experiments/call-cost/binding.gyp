{
  "targets": [
    {
      "target_name": "call_cost_napi",
      "sources": ["napi-variants.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=9", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2"]
    },
    {
      "target_name": "call_cost_v8",
      "sources": ["v8-variant.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wno-cast-function-type"]
    }
  ]
}
