/* A stand-in for NVIDIA's libcuda.so.1 on machines without a GPU, for tests of what ae-train
 * says when a driver is there but something else is missing. It answers the handful of calls
 * the probe makes; FAKE_CUDA_VERSION (default 13000) and FAKE_CUDA_DEVICES (default 1) set what
 * it reports. Every other driver call is absent, as a broken installation would have it. */
#include <stdlib.h>
#include <string.h>

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v ? atoi(v) : fallback;
}

int cuDriverGetVersion(int *version) { *version = env_int("FAKE_CUDA_VERSION", 13000); return 0; }
int cuInit(unsigned flags) { (void)flags; return env_int("FAKE_CUDA_DEVICES", 1) > 0 ? 0 : 100; }
int cuDeviceGetCount(int *count) { *count = env_int("FAKE_CUDA_DEVICES", 1); return 0; }
int cuDeviceGet(int *device, int ordinal) { *device = ordinal; return 0; }
int cuDeviceGetName(char *name, int len, int device) {
    (void)device;
    strncpy(name, "Fake H200", (size_t)len);
    return 0;
}
/* 75 = COMPUTE_CAPABILITY_MAJOR, 76 = MINOR. */
int cuDeviceGetAttribute(int *value, int attribute, int device) {
    (void)device;
    *value = attribute == 75 ? 9 : attribute == 76 ? 0 : 0;
    return 0;
}
int cuDeviceTotalMem_v2(size_t *bytes, int device) { (void)device; *bytes = (size_t)141 << 30; return 0; }
