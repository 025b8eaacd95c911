/*
 * trim(): glibc's malloc_trim(0), which hands every whole free page inside every malloc arena back
 * to the kernel, not only the top of each heap as free() does on its own. Node's native allocations
 * (sockets' read buffers, OpenSSL and ssh2 state, Buffers) are made and freed from several threads
 * in bursts, and the holes they leave inside the arenas stay resident: about 25 KB per device after
 * a poller's connection burst (docs/benchmarks.md, "Memory malloc keeps"). src/memory-trim.ts
 * calls it now and then.
 * setTrimThreshold(bytes): mallopt(M_TRIM_THRESHOLD), which also turns off glibc's raising of it:
 * malloc_trim(0) leaves a thread arena's free top alone, so free() must return it.
 * Built by scripts/build.ts (npm ci's prepare); glibc only.
 */
#include <node_api.h>
#ifndef __GLIBC__
#error "malloc_trim is glibc's: without glibc the server runs without trimming"
#endif
#include <malloc.h>
#include <stdint.h>

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  napi_get_boolean(env, malloc_trim(0) != 0, &released);
  return released;
}

static napi_value SetTrimThreshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, done;
  int64_t bytes = 0;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (argc < 1 || napi_get_value_int64(env, arg, &bytes) != napi_ok || bytes < 0 || bytes > INT32_MAX) {
    napi_throw_range_error(env, NULL, "setTrimThreshold: a byte count from 0 to 2^31-1");
    return NULL;
  }
  napi_get_boolean(env, mallopt(M_TRIM_THRESHOLD, (int)bytes) == 1, &done);
  return done;
}

static int Export(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok && napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!Export(env, exports, "trim", Trim) || !Export(env, exports, "setTrimThreshold", SetTrimThreshold)) return NULL;
  return exports;
}
