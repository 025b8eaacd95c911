/*
 * trim(): glibc's malloc_trim(0), which hands every whole free page of every malloc arena back to
 * the kernel, not only the top of each heap as free() does on its own. Node's native allocations
 * (sockets' read buffers, OpenSSL and ssh2 state, Buffers) are made and freed from several threads
 * in bursts, and the holes they leave inside the arenas stay resident: about 25 KB per device after
 * a poller's connection burst (docs/benchmarks.md, "Memory malloc keeps"). src/memory-trim.ts
 * calls it now and then. Built by scripts/build.ts (npm ci's prepare); glibc only.
 */
#include <node_api.h>
#ifndef __GLIBC__
#error "malloc_trim is glibc's: without glibc the server runs without trimming"
#endif
#include <malloc.h>

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  napi_get_boolean(env, malloc_trim(0) != 0, &released);
  return released;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
