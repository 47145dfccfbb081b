// Errors thrown to JS name the failing call and the errno, e.g. "KVM_RUN: EFAULT (Bad address)".
#pragma once
#include <napi.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace nodevmm {

inline const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";     case ENOENT: return "ENOENT";   case EINTR: return "EINTR";
    case EIO: return "EIO";         case EBADF: return "EBADF";     case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";   case EACCES: return "EACCES";   case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";     case EEXIST: return "EEXIST";   case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";   case ENFILE: return "ENFILE";   case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";   case ENOSPC: return "ENOSPC";   case E2BIG: return "E2BIG";
    case ENXIO: return "ENXIO";     case ENOSYS: return "ENOSYS";   case EOPNOTSUPP: return "EOPNOTSUPP";
    case ERANGE: return "ERANGE";   case ESRCH: return "ESRCH";
    default: return "E?";
  }
}

// "KVM_RUN: EFAULT (Bad address)"
inline std::string ErrnoMessage(const char* call, int err) {
  return std::string(call) + ": " + ErrnoName(err) + " (" + std::strerror(err) + ")";
}

// Throws a JS Error with code/errno/syscall properties, like Node's own system errors.
[[noreturn]] inline void ThrowErrno(Napi::Env env, const char* call, int err = errno) {
  Napi::Error e = Napi::Error::New(env, ErrnoMessage(call, err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, call));
  throw e;
}

[[noreturn]] inline void ThrowType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}

}  // namespace nodevmm
