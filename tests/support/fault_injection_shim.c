/*
 * Fault injection for the tests, loaded with LD_PRELOAD into the app: the Nth write() or rename()
 * on a file under one directory fails (as on a full disk) or kills the process before it happens.
 *
 *   S8NET_FAULT=write:N:fail | write:N:kill | rename:N:fail | rename:N:kill   (N counts from 1)
 *   S8NET_FAULT_DIR=DIR        only operations on files under DIR count
 *   S8NET_FAULT_LOG=FILE       optional: each counted operation appends "OP PATH" there
 *
 * Only the calls the program makes through the C library are seen, which is how s8net writes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef int (*rename_fn)(const char*, const char*);

static atomic_long writes_seen, renames_seen;

static int under_fault_dir(const char* path) {
  const char* dir = getenv("S8NET_FAULT_DIR");
  return dir != NULL && path != NULL && strncmp(path, dir, strlen(dir)) == 0;
}

static void log_operation(const char* op, const char* path) {
  const char* log = getenv("S8NET_FAULT_LOG");
  if (log == NULL) return;
  FILE* out = fopen(log, "a");
  if (out == NULL) return;
  fprintf(out, "%s %s\n", op, path);
  fclose(out);
}

/* 1 when this operation (the count-th of its kind) is the one to fail; kills for ":kill". */
static int inject(const char* op, long count) {
  const char* spec = getenv("S8NET_FAULT");
  if (spec == NULL) return 0;
  char wanted_op[16] = {0}, action[16] = {0};
  long at = 0;
  if (sscanf(spec, "%15[a-z]:%ld:%15[a-z]", wanted_op, &at, action) != 3) return 0;
  if (strcmp(op, wanted_op) != 0 || count != at) return 0;
  if (strcmp(action, "kill") == 0) raise(SIGKILL);
  return 1;
}

ssize_t write(int fd, const void* buffer, size_t size) {
  static write_fn real_write;
  if (real_write == NULL) real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t length = readlink(link, path, sizeof path - 1);
  if (length > 0) {
    path[length] = '\0';
    if (under_fault_dir(path)) {
      log_operation("write", path);
      if (inject("write", atomic_fetch_add(&writes_seen, 1) + 1)) {
        errno = ENOSPC;
        return -1;
      }
    }
  }
  return real_write(fd, buffer, size);
}

int rename(const char* from, const char* to) {
  static rename_fn real_rename;
  if (real_rename == NULL) real_rename = (rename_fn)dlsym(RTLD_NEXT, "rename");
  if (under_fault_dir(to)) {
    log_operation("rename", to);
    if (inject("rename", atomic_fetch_add(&renames_seen, 1) + 1)) {
      errno = ENOSPC;
      return -1;
    }
  }
  return real_rename(from, to);
}
