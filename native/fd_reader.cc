// FdReader: reads a connected Unix stream socket with recvmsg, keeping the file descriptors that come
// with the bytes (SCM_RIGHTS), and says on the event loop when it is readable. Node's own sockets read
// with read(2), which makes the kernel close passed descriptors; Cloud Hypervisor's clients (libvirt's
// vm.add-net) send tap fds that way. The reader works on its own dup of the socket, so it never shares
// an fd number with the libuv handle that writes to it. What the bytes mean is the caller's business.
#include "errors.h"

#include <napi.h>
#include <uv.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace nodevmm {

namespace {

/** The most descriptors one read takes; more in one message are closed and the read says so. */
constexpr size_t kMaxFds = 64;

class FdReader : public Napi::ObjectWrap<FdReader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "FdReader", {
      InstanceMethod<&FdReader::Start>("start"),
      InstanceMethod<&FdReader::Stop>("stop"),
      InstanceMethod<&FdReader::Receive>("receive"),
      InstanceMethod<&FdReader::Close>("close"),
    });
  }

  // new FdReader(fd, onReadable): fd is dup'ed (the caller keeps its own); onReadable() is called on
  // the event loop while started and the socket has bytes, an end or an error to read.
  FdReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdReader>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) ThrowType(env, "new FdReader(fd, onReadable)");
    fd_ = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) ThrowErrno(env, "dup");
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "nodevmm.FdReader");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowType(env, "FdReader: no event loop");
    poll_ = new uv_poll_t;
    int err = uv_poll_init(loop, poll_, fd_);
    if (err != 0) {
      delete poll_;
      poll_ = nullptr;
      close(fd_);
      fd_ = -1;
      Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(err)).ThrowAsJavaScriptException();
      return;
    }
    poll_->data = this;
  }

  ~FdReader() override { Release(); }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<FdReader*>(handle->data);
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      self->callback_.MakeCallback(self->Value(), {Napi::Number::New(env, status)}, *self->context_);
    } catch (const Napi::Error& error) {
      // No JavaScript frame is below a libuv callback: hand the exception to process 'uncaughtException'.
      napi_fatal_exception(env, error.Value());
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (poll_ == nullptr) ThrowType(info.Env(), "FdReader: closed");
    if (!started_) {
      int err = uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT, OnPoll);
      if (err != 0) ThrowType(info.Env(), std::string("uv_poll_start: ") + uv_strerror(err));
      started_ = true;
      Ref();  // a started reader stays alive while libuv may call it
    }
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  // receive(maxBytes) -> null when nothing is waiting, else { data: Buffer (empty at the end),
  // fds: number[], truncated: boolean (descriptors beyond kMaxFds were closed by the kernel) }.
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) ThrowType(env, "FdReader: closed");
    size_t max = info[0].As<Napi::Number>().Uint32Value();
    if (max == 0 || max > (1u << 20)) ThrowType(env, "receive(maxBytes): 1 to 1 MiB");
    // One read buffer per thread, shared by its readers (a read is copied out before it returns):
    // one per reader made every open connection cost 64 KiB that V8's GC does not see.
    thread_local std::vector<char> buffer;
    if (buffer.size() < max) buffer.resize(max);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    iovec iov = {buffer.data(), max};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got;
    do got = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return env.Null();
    if (got < 0) ThrowErrno(env, "recvmsg");
    Napi::Array fds = Napi::Array::New(env);
    uint32_t count = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds.Set(count++, Napi::Number::New(env, fd));
      }
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("data", Napi::Buffer<char>::Copy(env, buffer.data(), static_cast<size_t>(got)));
    result.Set("fds", fds);
    result.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_CTRUNC) != 0));
    return result;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void StopPolling() {
    if (!started_) return;
    uv_poll_stop(poll_);
    started_ = false;
    Unref();
  }

  void Release() {
    if (poll_ != nullptr) {
      StopPolling();
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
      poll_ = nullptr;
    }
    // The callback closes over the JavaScript side that holds this reader: a strong reference kept
    // past close would keep both alive for ever.
    if (!callback_.IsEmpty()) callback_.Reset();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  bool started_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace

// sendWithFds(fd, data, fds) -> bytes sent, or -errno (EAGAIN: the socket is full): one sendmsg with
// the descriptors attached, as a Cloud Hypervisor client sends tap fds (nodevmm-remote, the tests).
Napi::Value SendWithFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsArray()) ThrowType(env, "sendWithFds(fd, data, fds)");
  auto data = info[1].As<Napi::Buffer<char>>();
  auto list = info[2].As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > kMaxFds) ThrowType(env, "sendWithFds: 1 to 64 descriptors");
  std::vector<int> fds(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) fds[i] = list.Get(i).As<Napi::Number>().Int32Value();
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  iovec iov = {data.Data(), data.Length()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  ssize_t sent;
  do sent = sendmsg(info[0].As<Napi::Number>().Int32Value(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  return Napi::Number::New(env, sent < 0 ? -errno : static_cast<double>(sent));
}

Napi::Function FdReaderClass(Napi::Env env) { return FdReader::Init(env); }

}  // namespace nodevmm
