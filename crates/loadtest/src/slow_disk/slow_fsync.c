/* The harness's slow disk: preloaded (LD_PRELOAD) into the harness and the server it starts,
 * it makes every fsync and fdatasync wait KUELIK_SLOW_FSYNC_US microseconds (default 1000)
 * before doing the real one, as a disk whose flush costs that long would. It changes nothing
 * else. Compiled by kuelik-loadtest with the system's C compiler (cc) at run time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_disk_wait(void) {
  const char *value = getenv("KUELIK_SLOW_FSYNC_US");
  long us = value ? atol(value) : 1000;
  if (us <= 0) {
    return;
  }
  struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
  while (nanosleep(&t, &t) != 0) {
  }
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) {
    real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  }
  slow_disk_wait();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) {
    real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  }
  slow_disk_wait();
  return real(fd);
}
