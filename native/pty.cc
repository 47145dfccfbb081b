// A pseudo-terminal for serial mode Pty: the VMM keeps the master; a user attaches to the slave path
// (screen, minicom, virsh console). The addon only makes the pair; what flows through it is the
// caller's business.
#include <napi.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "errors.h"

namespace nodevmm {

namespace {

void CloseBoth(int master, int slave) {
  if (slave >= 0) close(slave);
  if (master >= 0) close(master);
}

}  // namespace

// openPty() -> { master, slave, path }. Both fds are close-on-exec, the master non-blocking. The slave is set to raw mode, so
// bytes pass unchanged in both directions until a client sets its own mode; the caller keeps the slave
// fd open so that reading the master does not fail with EIO while no client is attached.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) ThrowErrno(env, "posix_openpt");
  if (grantpt(master) != 0 || unlockpt(master) != 0) {
    int err = errno;
    CloseBoth(master, -1);
    ThrowErrno(env, "unlockpt", err);
  }
  char path[128];
  if (int err = ptsname_r(master, path, sizeof path); err != 0) {
    CloseBoth(master, -1);
    ThrowErrno(env, "ptsname_r", err);
  }
  int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    CloseBoth(master, -1);
    ThrowErrno(env, "open pty slave", err);
  }
  termios mode;
  if (tcgetattr(slave, &mode) != 0) {
    int err = errno;
    CloseBoth(master, slave);
    ThrowErrno(env, "tcgetattr", err);
  }
  cfmakeraw(&mode);
  if (tcsetattr(slave, TCSANOW, &mode) != 0) {
    int err = errno;
    CloseBoth(master, slave);
    ThrowErrno(env, "tcsetattr", err);
  }
  // The VMM writes without ever waiting for a reader: when nobody drains the pty, output is dropped.
  if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) != 0) {
    int err = errno;
    CloseBoth(master, slave);
    ThrowErrno(env, "fcntl O_NONBLOCK", err);
  }
  auto result = Napi::Object::New(env);
  result.Set("master", master);
  result.Set("slave", slave);
  result.Set("path", Napi::String::New(env, path));
  return result;
}

// ptyUnread(fd) -> bytes in a pty's input queue that no reader has taken yet (FIONREAD on a slave fd).
Napi::Value PtyUnread(const Napi::CallbackInfo& info) {
  int count = 0;
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), FIONREAD, &count) != 0) ThrowErrno(info.Env(), "ioctl FIONREAD");
  return Napi::Number::New(info.Env(), count);
}

}  // namespace nodevmm
