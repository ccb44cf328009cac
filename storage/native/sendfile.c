/*
 * brook_sendfile: one function, sendfile(outFd, inFd, position, length), for Brook's fetch path.
 *
 * It copies up to `length` bytes of the file `inFd` from `position` to the socket `outFd`
 * inside the kernel (no copy through JavaScript memory) and returns the bytes sent, or a
 * negative errno. The socket is non-blocking (libuv owns it), so a full send buffer returns
 * -EAGAIN (or a short count) and the caller waits for writability in JavaScript; this addon
 * never blocks and never keeps state, so it cannot hold a socket that JavaScript has closed.
 *
 * Plain N-API (ABI-stable since NAPI_VERSION 8): one binary loads on every Node >= 12.22,
 * whichever Node's headers built it. Linux and macOS are supported; elsewhere the function
 * returns -ENOSYS and Brook falls back to positional reads + socket.write.
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__linux__)
#include <sys/sendfile.h>
#elif defined(__APPLE__)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

/* Linux transfers at most 0x7ffff000 bytes per call; asking for more is just clamped. */
#define SEND_BYTES_MAX 0x7ffff000LL
/* 2^53: positions arrive as JavaScript numbers, exact only up to here. */
#define SAFE_INTEGER_MAX 9007199254740991.0

static int64_t send_region(int out_fd, int in_fd, int64_t position, int64_t length) {
#if defined(__linux__)
  for (;;) {
    off_t offset = (off_t)position;
    ssize_t sent = sendfile(out_fd, in_fd, &offset, (size_t)length);
    if (sent >= 0) return (int64_t)sent;
    if (errno == EINTR) continue;
    return -(int64_t)errno;
  }
#elif defined(__APPLE__)
  for (;;) {
    off_t len = (off_t)length;
    int rc = sendfile(in_fd, out_fd, (off_t)position, &len, NULL, 0);
    /* On EAGAIN/EINTR macOS still reports a partial transfer in len. */
    if (rc == 0) return (int64_t)len;
    if ((errno == EAGAIN || errno == EINTR) && len > 0) return (int64_t)len;
    if (errno == EINTR) continue;
    return -(int64_t)errno;
  }
#else
  (void)out_fd;
  (void)in_fd;
  (void)position;
  (void)length;
  return -(int64_t)ENOSYS;
#endif
}

static napi_value throw_type_error(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* Reads argument `i` as a non-negative integer no larger than `max`; 0 on success. */
static int get_count(napi_env env, napi_value value, double max, double* out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return -1;
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return -1;
  if (!(number >= 0.0 && number <= max) || number != (double)(int64_t)number) return -1;
  *out = number;
  return 0;
}

static napi_value js_sendfile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 4) return throw_type_error(env, "sendfile(outFd, inFd, position, length)");
  double out_fd, in_fd, position, length;
  if (get_count(env, argv[0], 2147483647.0, &out_fd) != 0 ||
      get_count(env, argv[1], 2147483647.0, &in_fd) != 0 ||
      get_count(env, argv[2], SAFE_INTEGER_MAX, &position) != 0 ||
      get_count(env, argv[3], SAFE_INTEGER_MAX, &length) != 0) {
    return throw_type_error(env, "sendfile arguments must be non-negative safe integers");
  }
  int64_t want = (int64_t)length;
  if (want > SEND_BYTES_MAX) want = SEND_BYTES_MAX;
  int64_t result = want == 0 ? 0 : send_region((int)out_fd, (int)in_fd, (int64_t)position, want);
  napi_value out;
  if (napi_create_double(env, (double)result, &out) != napi_ok) return NULL;
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "sendfile", NAPI_AUTO_LENGTH, js_sendfile, NULL, &fn) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "sendfile", fn) != napi_ok) return NULL;
  napi_value eagain;
  if (napi_create_int32(env, EAGAIN, &eagain) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "EAGAIN", eagain) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
