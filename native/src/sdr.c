/* SDR labeling kernels (SHA-256). Filled in by the proofs work. */
#include <node_api.h>
napi_value sdr_register(napi_env env, napi_value exports) { (void)env; return exports; }
