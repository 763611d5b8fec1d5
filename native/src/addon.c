/* Entry point of the optional native kernels. Each kernel file registers its own functions. */
#include <node_api.h>

napi_value sdr_register(napi_env env, napi_value exports);
napi_value fr_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  sdr_register(env, exports);
  fr_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
