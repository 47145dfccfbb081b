// Which pages of guest RAM hold anything, and filling RAM from only the parts of a file that hold
// data. A migration's first pass and a snapshot then move the RAM a guest wrote, not all of it: RAM
// the guest never touched is a hole in the memfd (SEEK_DATA skips it without reading it), and a page
// it touched but left zero is found by a check of its words. A fresh destination's RAM is zero, so
// neither has to travel. Both work on any file: where SEEK_DATA is not supported, all is data.
#include "guest_memory.h"
#include "errors.h"

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <vector>

namespace nodevmm {

namespace {

constexpr size_t kPage = 4096;

bool IsZeroPage(const uint8_t* page) {
  const uint64_t* words = reinterpret_cast<const uint64_t*>(page);
  for (size_t i = 0; i < kPage / 8; i += 8) {
    if ((words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] | words[i + 6] | words[i + 7]) != 0) return false;
  }
  return true;
}

// The next data extent of `fd` in [from, end): false when there is none.
bool NextExtent(Napi::Env env, int fd, off_t from, off_t end, off_t* data, off_t* hole) {
  if (from >= end) return false;
  off_t d = lseek(fd, from, SEEK_DATA);
  if (d < 0) {
    if (errno == ENXIO) return false;  // only a hole up to the end of the file
    ThrowErrno(env, "lseek(SEEK_DATA)");
  }
  if (d >= end) return false;
  off_t h = lseek(fd, d, SEEK_HOLE);
  if (h < 0) ThrowErrno(env, "lseek(SEEK_HOLE)");
  *data = d;
  *hole = h < end ? h : end;
  return true;
}

// offset and length as page-aligned numbers inside [0, limit)
void RangeArgs(const Napi::CallbackInfo& info, size_t first, size_t limit, bool aligned, uint64_t* offset, uint64_t* length) {
  Napi::Env env = info.Env();
  if (info.Length() < first + 2 || !info[first].IsNumber() || !info[first + 1].IsNumber()) ThrowType(env, "expected (offset, length) numbers");
  double o = info[first].As<Napi::Number>().DoubleValue();
  double l = info[first + 1].As<Napi::Number>().DoubleValue();
  if (!(o >= 0) || !(l >= 0) || o + l > static_cast<double>(limit)) ThrowType(env, "range outside guest memory");
  *offset = static_cast<uint64_t>(o);
  *length = static_cast<uint64_t>(l);
  if (aligned && (*offset % kPage != 0 || *length % kPage != 0)) ThrowType(env, "offset and length must be multiples of 4096");
}

}  // namespace

// nonZeroRuns(offset, length) -> Float64Array [offset0, length0, offset1, length1, ...]: the maximal
// runs of 4 KiB pages in [offset, offset + length) that are allocated in the memfd and not all zero.
Napi::Value GuestMemory::NonZeroRuns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (host_ == nullptr) ThrowType(env, "GuestMemory: closed");
  uint64_t offset, length;
  RangeArgs(info, 0, size_, true, &offset, &length);
  std::vector<double> runs;
  const off_t end = static_cast<off_t>(offset + length);
  off_t data, hole;
  for (off_t at = static_cast<off_t>(offset); NextExtent(env, fd_, at, end, &data, &hole); at = hole) {
    data -= data % static_cast<off_t>(kPage);  // shmem extents are whole pages; be safe anyway
    off_t start = -1;
    for (off_t page = data; page < hole; page += kPage) {
      if (!IsZeroPage(host_ + page)) {
        if (start < 0) start = page;
      } else if (start >= 0) {
        runs.push_back(static_cast<double>(start));
        runs.push_back(static_cast<double>(page - start));
        start = -1;
      }
    }
    if (start >= 0) {
      runs.push_back(static_cast<double>(start));
      runs.push_back(static_cast<double>(hole - start));
    }
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, runs.size());
  if (!runs.empty()) std::memcpy(out.Data(), runs.data(), runs.size() * sizeof(double));
  return out;
}

// loadFileData(fd, fileOffset, memoryOffset, length) -> bytes read: copies the data extents of the
// file's [fileOffset, fileOffset + length) to RAM at the same distance from memoryOffset; its holes
// are left as they are (a fresh memfd's are zero). The caller has checked the file's size.
Napi::Value GuestMemory::LoadFileData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (host_ == nullptr) ThrowType(env, "GuestMemory: closed");
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber()) ThrowType(env, "loadFileData(fd, fileOffset, memoryOffset, length)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  double fileOffset = info[1].As<Napi::Number>().DoubleValue();
  if (!(fileOffset >= 0)) ThrowType(env, "loadFileData: fileOffset must be >= 0");
  uint64_t memoryOffset, length;
  RangeArgs(info, 2, size_, false, &memoryOffset, &length);
  const off_t base = static_cast<off_t>(fileOffset);
  const off_t end = base + static_cast<off_t>(length);
  double total = 0;
  off_t data, hole;
  for (off_t at = base; NextExtent(env, fd, at, end, &data, &hole); at = hole) {
    for (off_t pos = data; pos < hole;) {
      ssize_t got = pread(fd, host_ + memoryOffset + (pos - base), static_cast<size_t>(hole - pos), pos);
      if (got < 0) {
        if (errno == EINTR) continue;
        ThrowErrno(env, "pread");
      }
      if (got == 0) ThrowType(env, "loadFileData: the file ends early");
      pos += got;
      total += static_cast<double>(got);
    }
  }
  return Napi::Number::New(env, total);
}

}  // namespace nodevmm
