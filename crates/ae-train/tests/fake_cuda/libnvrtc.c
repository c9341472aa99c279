/* A stand-in for libnvrtc.so: reports version 13.0 and nothing else (see libcuda.c). */
int nvrtcVersion(int *major, int *minor) { *major = 13; *minor = 0; return 0; }
