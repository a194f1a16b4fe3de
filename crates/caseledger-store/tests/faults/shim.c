/*
 * LD_PRELOAD fault shim for the store's fault tests (tests/faults.rs builds
 * it with `cc` into a temporary directory).
 *
 * It counts the calls of each operation on paths under FAULT_DIR and makes
 * the FAULT_N-th call of operation FAULT_OP fail with errno FAULT_ERRNO
 * without doing it (FAULT_ACTION=fail), or kills the process with SIGKILL
 * just before it (FAULT_ACTION=kill: a crash at that exact point). With
 * FAULT_N=0 nothing fails: the run only counts. Every counted call is
 * logged as a line to FAULT_LOG ("<op> <n> <path>", and "FAIL <op> <n>
 * <path>" for the injected one), so the test sees the order of calls.
 *
 * Operations: write (write, pwrite, pwritev...), fdatasync and fsync of a
 * regular file, dirsync (fsync or fdatasync of a directory), create (open
 * with O_CREAT, mkdir), rename, truncate (ftruncate), unlink; "any" counts
 * them all together (for FAULT_ACTION=kill: every mutating call).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum op { OP_WRITE, OP_FDATASYNC, OP_FSYNC, OP_DIRSYNC, OP_CREATE, OP_RENAME,
          OP_TRUNCATE, OP_UNLINK, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "write", "fdatasync", "fsync", "dirsync", "create", "rename", "truncate", "unlink"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ready;
static char dir[PATH_MAX];
static size_t dir_len;
static int fault_op = -2; /* -2: none; -1: any */
static long fault_n;
static int fault_errno = EIO;
static int fault_kill;
static int log_fd = -1;
static long counts[OP_COUNT];
static long any_count;

static ssize_t (*real_write)(int, const void *, size_t);

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static void init(void) {
    if (ready) return;
    ready = 1;
    real_write = REAL(write);
    const char *d = getenv("FAULT_DIR");
    if (d && strlen(d) < sizeof dir - 1) {
        strcpy(dir, d);
        dir_len = strlen(dir);
    }
    const char *op = getenv("FAULT_OP");
    if (op) {
        if (strcmp(op, "any") == 0) fault_op = -1;
        for (int i = 0; i < OP_COUNT; i++)
            if (strcmp(op, op_names[i]) == 0) fault_op = i;
    }
    const char *n = getenv("FAULT_N");
    if (n) fault_n = atol(n);
    const char *e = getenv("FAULT_ERRNO");
    if (e && strcmp(e, "ENOSPC") == 0) fault_errno = ENOSPC;
    const char *a = getenv("FAULT_ACTION");
    if (a && strcmp(a, "kill") == 0) fault_kill = 1;
    const char *log = getenv("FAULT_LOG");
    if (log) {
        int (*real_open)(const char *, int, ...) = REAL(open);
        log_fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
}

static int under_dir(const char *path) {
    return dir_len > 0 && path != NULL && strncmp(path, dir, dir_len) == 0 &&
           (path[dir_len] == '/' || path[dir_len] == '\0');
}

static int fd_path(int fd, char *out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, out, size - 1);
    if (len < 0) return 0;
    out[len] = '\0';
    return 1;
}

/* Counts a call of `op` on `path`; returns nonzero if it must fail (errno
 * set). Kills the process instead when the action is "kill". */
static int fault(enum op op, const char *path) {
    pthread_mutex_lock(&lock);
    init();
    if (!under_dir(path)) {
        pthread_mutex_unlock(&lock);
        return 0;
    }
    long n = ++counts[op];
    long any = ++any_count;
    int hit = fault_n > 0 && ((fault_op == (int)op && n == fault_n) ||
                              (fault_op == -1 && any == fault_n));
    if (log_fd >= 0) {
        char line[PATH_MAX + 64];
        int len = snprintf(line, sizeof line, "%s%s %ld %s\n", hit ? "FAIL " : "",
                           op_names[op], fault_op == -1 ? any : n, path);
        if (len > 0) real_write(log_fd, line, (size_t)len);
    }
    pthread_mutex_unlock(&lock);
    if (hit && fault_kill) raise(SIGKILL);
    if (hit) errno = fault_errno;
    return hit;
}

static int fd_fault(enum op op, int fd) {
    char path[PATH_MAX];
    pthread_mutex_lock(&lock);
    init();
    int has_dir = dir_len > 0;
    pthread_mutex_unlock(&lock);
    if (!has_dir || !fd_path(fd, path, sizeof path)) return 0;
    return fault(op, path);
}

static int sync_fault(enum op op, int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) op = OP_DIRSYNC;
    return fd_fault(op, fd);
}

/* An absolute path for `path` relative to `dirfd` (only AT_FDCWD and
 * absolute paths are needed: the store uses absolute paths). */
static const char *at_path(int dirfd, const char *path, char *buf, size_t size) {
    if (path[0] == '/' || dirfd != AT_FDCWD) return path;
    if (!getcwd(buf, size)) return path;
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "/%s", path);
    return buf;
}

ssize_t write(int fd, const void *b, size_t n) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(write)(fd, b, n);
}
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(pwrite)(fd, b, n, o);
}
ssize_t pwrite64(int fd, const void *b, size_t n, off64_t o) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(pwrite64)(fd, b, n, o);
}
ssize_t writev(int fd, const struct iovec *v, int c) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(writev)(fd, v, c);
}
ssize_t pwritev(int fd, const struct iovec *v, int c, off_t o) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(pwritev)(fd, v, c, o);
}
ssize_t pwritev64(int fd, const struct iovec *v, int c, off64_t o) {
    if (fd_fault(OP_WRITE, fd)) return -1;
    return REAL(pwritev64)(fd, v, c, o);
}
int fdatasync(int fd) {
    if (sync_fault(OP_FDATASYNC, fd)) return -1;
    return REAL(fdatasync)(fd);
}
int fsync(int fd) {
    if (sync_fault(OP_FSYNC, fd)) return -1;
    return REAL(fsync)(fd);
}
int ftruncate(int fd, off_t len) {
    if (fd_fault(OP_TRUNCATE, fd)) return -1;
    return REAL(ftruncate)(fd, len);
}
int ftruncate64(int fd, off64_t len) {
    if (fd_fault(OP_TRUNCATE, fd)) return -1;
    return REAL(ftruncate64)(fd, len);
}

#define OPEN_BODY(real_call)                                                   \
    mode_t mode = 0;                                                           \
    if (flags & (O_CREAT | __O_TMPFILE)) {                                     \
        va_list ap;                                                            \
        va_start(ap, flags);                                                   \
        mode = va_arg(ap, mode_t);                                             \
        va_end(ap);                                                            \
    }                                                                          \
    char buf[PATH_MAX];                                                        \
    if ((flags & O_CREAT) && fault(OP_CREATE, at_path(AT_FDCWD_ARG, path, buf, sizeof buf))) \
        return -1;                                                             \
    return real_call;

#define AT_FDCWD_ARG AT_FDCWD
int open(const char *path, int flags, ...) { OPEN_BODY(REAL(open)(path, flags, mode)) }
int open64(const char *path, int flags, ...) { OPEN_BODY(REAL(open64)(path, flags, mode)) }
#undef AT_FDCWD_ARG
#define AT_FDCWD_ARG dirfd
int openat(int dirfd, const char *path, int flags, ...) {
    OPEN_BODY(REAL(openat)(dirfd, path, flags, mode))
}
int openat64(int dirfd, const char *path, int flags, ...) {
    OPEN_BODY(REAL(openat64)(dirfd, path, flags, mode))
}
#undef AT_FDCWD_ARG

int creat(const char *path, mode_t mode) {
    char buf[PATH_MAX];
    if (fault(OP_CREATE, at_path(AT_FDCWD, path, buf, sizeof buf))) return -1;
    return REAL(creat)(path, mode);
}
int mkdir(const char *path, mode_t mode) {
    char buf[PATH_MAX];
    if (fault(OP_CREATE, at_path(AT_FDCWD, path, buf, sizeof buf))) return -1;
    return REAL(mkdir)(path, mode);
}
int rename(const char *from, const char *to) {
    char buf[PATH_MAX];
    if (fault(OP_RENAME, at_path(AT_FDCWD, from, buf, sizeof buf))) return -1;
    return REAL(rename)(from, to);
}
int renameat(int fd1, const char *from, int fd2, const char *to) {
    char buf[PATH_MAX];
    if (fault(OP_RENAME, at_path(fd1, from, buf, sizeof buf))) return -1;
    return REAL(renameat)(fd1, from, fd2, to);
}
int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags) {
    char buf[PATH_MAX];
    if (fault(OP_RENAME, at_path(fd1, from, buf, sizeof buf))) return -1;
    return REAL(renameat2)(fd1, from, fd2, to, flags);
}
int unlink(const char *path) {
    char buf[PATH_MAX];
    if (fault(OP_UNLINK, at_path(AT_FDCWD, path, buf, sizeof buf))) return -1;
    return REAL(unlink)(path);
}
int unlinkat(int dirfd, const char *path, int flags) {
    char buf[PATH_MAX];
    if (fault(OP_UNLINK, at_path(dirfd, path, buf, sizeof buf))) return -1;
    return REAL(unlinkat)(dirfd, path, flags);
}
