// The hot path only: enterGuest bound with V8's function-callback API instead of Node-API. A Node-API
// call pays for an env scope and a TryCatch on every call; at one call per guest exit that is a
// measurable share of the exit cost (docs/BENCHMARKS.md). Everything else in the addon stays on
// Node-API. The function reaches JS as a property of the thread's global object, which
// src/kvm/native.ts takes and deletes right after loading the addon.
#include <node.h>
#include <v8.h>

#include "errors.h"
#include "vcpu.h"

namespace nodevmm {

int EnterThreadVcpu(const char** failedCall, int* err);

namespace {

void FastEnterGuest(const v8::FunctionCallbackInfo<v8::Value>& info) {
  const char* call = nullptr;
  int err = 0;
  if (EnterThreadVcpu(&call, &err) == 0) return;
  v8::Isolate* isolate = info.GetIsolate();
  std::string message = ErrnoMessage(call, err);
  v8::Local<v8::Value> error = v8::Exception::Error(v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked());
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  error.As<v8::Object>()->Set(context, v8::String::NewFromUtf8Literal(isolate, "code"), v8::String::NewFromUtf8(isolate, ErrnoName(err)).ToLocalChecked()).Check();
  error.As<v8::Object>()->Set(context, v8::String::NewFromUtf8Literal(isolate, "errno"), v8::Integer::New(isolate, err)).Check();
  error.As<v8::Object>()->Set(context, v8::String::NewFromUtf8Literal(isolate, "syscall"), v8::String::NewFromUtf8(isolate, call).ToLocalChecked()).Check();
  isolate->ThrowException(error);
}

}  // namespace

void InstallFastEntry() {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr) return;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Function> fn = v8::Function::New(context, FastEnterGuest).ToLocalChecked();
  context->Global()->Set(context, v8::String::NewFromUtf8Literal(isolate, "__nodevmmFastEnterGuest"), fn).Check();
}

}  // namespace nodevmm
