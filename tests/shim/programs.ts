/**
 * C programs the shim tests run, as sources compiled by the tests with `zig cc`.
 *
 * @module
 */

/**
 * `exec_entry MODE MARKER`: starts `/bin/true MARKER` through the libc entry point MODE
 * (execve, execveat, fexecve, execv, execvp, execvpe, execl, execlp, execle, posix_spawn,
 * posix_spawnp, system, popen), waits for it and exits with its status. With MARKER "missing"
 * it starts a program that does not exist and prints the call's errno instead.
 */
export const EXEC_ENTRY_SOURCE = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;

static int run_exec(const char *mode, const char *marker, int missing) {
  const char *path = missing ? "/nonexistent/prog" : "/bin/true";
  const char *name = missing ? "nonexistent-prog" : "true";
  char *args[] = {(char *)name, (char *)marker, NULL};
  if (!strcmp(mode, "execve")) return execve(path, args, environ);
  if (!strcmp(mode, "execveat")) return execveat(AT_FDCWD, path, args, environ, 0);
  if (!strcmp(mode, "fexecve")) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    return fexecve(fd, args, environ);
  }
  if (!strcmp(mode, "execv")) return execv(path, args);
  if (!strcmp(mode, "execvp")) return execvp(name, args);
  if (!strcmp(mode, "execvpe")) return execvpe(name, args, environ);
  if (!strcmp(mode, "execl")) return execl(path, name, marker, (char *)NULL);
  if (!strcmp(mode, "execlp")) return execlp(name, name, marker, (char *)NULL);
  if (!strcmp(mode, "execle")) return execle(path, name, marker, (char *)NULL, environ);
  fprintf(stderr, "unknown mode %s\\n", mode);
  return -2;
}

int main(int argc, char **argv) {
  if (argc < 3) return 64;
  const char *mode = argv[1], *marker = argv[2];
  int missing = !strcmp(marker, "missing");
  char command[256];
  snprintf(command, sizeof command, "%s %s", missing ? "/nonexistent/prog" : "true", marker);
  if (!strcmp(mode, "system")) {
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 70;
  }
  if (!strcmp(mode, "popen")) {
    FILE *f = popen(command, "r");
    if (!f) return 71;
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 72;
  }
  if (!strcmp(mode, "posix_spawn") || !strcmp(mode, "posix_spawnp")) {
    pid_t pid;
    char *args[] = {missing ? "nonexistent-prog" : "true", (char *)marker, NULL};
    int rc = !strcmp(mode, "posix_spawn")
      ? posix_spawn(&pid, missing ? "/nonexistent/prog" : "/bin/true", NULL, NULL, args, environ)
      : posix_spawnp(&pid, missing ? "nonexistent-prog" : "true", NULL, NULL, args, environ);
    if (rc != 0) { printf("%d\\n", rc); return 0; }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 73;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int rc = run_exec(mode, marker, missing);
    printf("%d %d\\n", rc, errno);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 74;
}
`;

/**
 * `calls`: makes every hooked open and connect call once successfully and once failing (and the
 * exec calls failing), printing after each `name rc errno`, with errno set to 77 before each call
 * so a hook that clobbers errno on success shows. The output must be identical with and without
 * the shim (system, popen and the set*id calls included). Argument 1 is a scratch directory,
 * argument 2 a TCP port with a listener on 127.0.0.1.
 */
export const CALLS_SOURCE = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
extern char **environ;

static char out[8192];
static size_t used;
static void note(const char *name, long rc, int err) {
  used += snprintf(out + used, sizeof out - used, "%s %ld %d\\n", name, rc, err);
}
#define CALL(name, expr) do { errno = 77; long rc_ = (long)(expr); note(name, rc_, errno); } while (0)
#define CALLP(name, expr) do { errno = 77; void *p_ = (void *)(expr); note(name, p_ != NULL, errno); if (p_) fclose(p_); } while (0)

int main(int argc, char **argv) {
  char path[512], missing[512];
  snprintf(path, sizeof path, "%s/file", argv[1]);
  snprintf(missing, sizeof missing, "%s/no/such/file", argv[1]);
  int port = atoi(argv[2]);
  int fd;
  CALL("open", fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)); close(fd);
  CALL("open-fail", open(missing, O_RDONLY));
  CALL("open64", fd = open64(path, O_RDONLY)); close(fd);
  CALL("open64-fail", open64(missing, O_RDONLY));
  CALL("openat", fd = openat(AT_FDCWD, path, O_RDONLY)); close(fd);
  CALL("openat-fail", openat(AT_FDCWD, missing, O_RDONLY));
  CALL("openat64", fd = openat64(AT_FDCWD, path, O_RDONLY)); close(fd);
  CALL("openat64-fail", openat64(AT_FDCWD, missing, O_RDONLY));
  CALL("creat", fd = creat(path, 0600)); close(fd);
  CALL("creat-fail", creat(missing, 0600));
  CALL("creat64", fd = creat64(path, 0600)); close(fd);
  CALL("creat64-fail", creat64(missing, 0600));
  CALLP("fopen", fopen(path, "r"));
  CALLP("fopen-fail", fopen(missing, "r"));
  CALLP("fopen64", fopen64(path, "a+"));
  CALLP("fopen64-fail", fopen64(missing, "w"));
  FILE *f = fopen(path, "r");
  CALLP("freopen", f = freopen(path, "w", f));
  CALLP("freopen-fail", freopen(missing, "r", fopen(path, "r")));
  f = fopen(path, "r");
  CALLP("freopen64", freopen64(path, "r", f));
  struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CALL("connect", connect(s, (struct sockaddr *)&in, sizeof in)); close(s);
  struct sockaddr_un un = { .sun_family = AF_UNIX };
  strcpy(un.sun_path, missing);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  CALL("connect-fail", connect(s, (struct sockaddr *)&un, sizeof un)); close(s);
  s = socket(AF_INET, SOCK_DGRAM, 0);
  CALL("sendto", sendto(s, "x", 1, 0, (struct sockaddr *)&in, sizeof in));
  CALL("sendto-fail", sendto(s, "x", 1, 0, (struct sockaddr *)&un, sizeof un));
  struct iovec iov = { .iov_base = "y", .iov_len = 1 };
  struct msghdr msg = { .msg_name = &in, .msg_namelen = sizeof in, .msg_iov = &iov, .msg_iovlen = 1 };
  CALL("sendmsg", sendmsg(s, &msg, 0));
  msg.msg_name = &un; msg.msg_namelen = sizeof un;
  CALL("sendmsg-fail", sendmsg(s, &msg, 0));
  close(s);
  char *args[] = {"prog", NULL};
  CALL("execve-fail", execve(missing, args, environ));
  CALL("execv-fail", execv(missing, args));
  CALL("execvp-fail", execvp("no-such-program-xyz", args));
  CALL("execvpe-fail", execvpe("no-such-program-xyz", args, environ));
  CALL("execl-fail", execl(missing, "prog", (char *)NULL));
  CALL("execlp-fail", execlp("no-such-program-xyz", "prog", (char *)NULL));
  CALL("execle-fail", execle(missing, "prog", (char *)NULL, environ));
  CALL("execveat-fail", execveat(AT_FDCWD, missing, args, environ, 0));
  CALL("fexecve-fail", fexecve(-1, args, environ));
  pid_t pid;
  CALL("posix_spawn-fail", posix_spawn(&pid, missing, NULL, NULL, args, environ));
  CALL("posix_spawnp-fail", posix_spawnp(&pid, "no-such-program-xyz", NULL, NULL, args, environ));
  CALL("system", system("exit 3"));
  errno = 77;
  FILE *p = popen("exit 0", "r");
  note("popen", p != NULL, errno);
  if (p) pclose(p);
  CALL("setreuid", setreuid(-1, -1));
  CALL("setresgid", setresgid(-1, -1, -1));
  fputs(out, stdout);
  return 0;
}
`;

/**
 * `fortified PATH`: opens PATH through the _FORTIFY_SOURCE entry points (__open_2,
 * __openat_2 and their 64 variants), which a build with -O2 -D_FORTIFY_SOURCE=2 calls when the
 * flags are not a compile-time constant.
 */
export const FORTIFIED_SOURCE = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
extern int __open_2(const char *, int);
extern int __open64_2(const char *, int);
extern int __openat_2(int, const char *, int);
extern int __openat64_2(int, const char *, int);
int main(int argc, char **argv) {
  int flags = atoi(argv[2]);
  int fds[4] = {
    __open_2(argv[1], flags), __open64_2(argv[1], flags),
    __openat_2(AT_FDCWD, argv[1], flags), __openat64_2(AT_FDCWD, argv[1], flags),
  };
  for (int i = 0; i < 4; i++) { if (fds[i] < 0) return 1; close(fds[i]); }
  return 0;
}
`;

/** `threads PATH THREADS COUNT`: THREADS threads each open and close PATH COUNT times. */
export const THREADS_SOURCE = `
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static const char *path;
static int count;
static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < count; i++) { int fd = open(path, O_RDONLY); if (fd >= 0) close(fd); }
  return NULL;
}
int main(int argc, char **argv) {
  path = argv[1];
  int threads = atoi(argv[2]);
  count = atoi(argv[3]);
  pthread_t t[256];
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  return 0;
}
`;

/**
 * `fork_storm DIR N`: opens DIR/parent (so the parent has a connection), prints the inode of
 * the parent's audit socket, then forks N children at once; child i opens DIR/child-i and
 * prints its pid and the inodes of its own sockets at fd >= 900. The parent waits for all.
 */
export const FORK_STORM_SOURCE = `
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static void print_sockets(const char *who) {
  char link[64], target[128];
  for (int fd = 900; fd < 1024; fd++) {
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) { target[n] = 0; printf("%s %d %s\\n", who, getpid(), target); }
  }
}
int main(int argc, char **argv) {
  char path[512];
  int n = atoi(argv[2]);
  snprintf(path, sizeof path, "%s/parent", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  print_sockets("parent");
  fflush(stdout);
  for (int i = 0; i < n; i++) {
    if (fork() == 0) {
      snprintf(path, sizeof path, "%s/child-%d", argv[1], i);
      close(open(path, O_RDONLY | O_CREAT, 0600));
      print_sockets("child");
      fflush(stdout);
      _exit(0);
    }
  }
  while (wait(NULL) > 0) {}
  return 0;
}
`;

/**
 * `shared DIR N BIG`: the parent opens DIR/parent 400 times while N forked children each open
 * DIR/child-I 20 times and then exec /bin/true with one argument of BIG bytes. Every line must
 * arrive whole, none interleaved with another process's.
 */
export const SHARED_CONNECTION_SOURCE = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char path[512];
  int n = atoi(argv[2]);
  size_t big = (size_t)atol(argv[3]);
  char *arg = malloc(big + 1);
  memset(arg, 'x', big);
  arg[big] = 0;
  snprintf(path, sizeof path, "%s/parent", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  for (int i = 0; i < n; i++) {
    if (fork() == 0) {
      snprintf(path, sizeof path, "%s/child-%d", argv[1], i);
      for (int j = 0; j < 20; j++) close(open(path, O_RDONLY | O_CREAT, 0600));
      char *child_argv[] = {"/bin/true", arg, NULL};
      execv("/bin/true", child_argv);
      _exit(127);
    }
  }
  snprintf(path, sizeof path, "%s/parent", argv[1]);
  for (int j = 0; j < 399; j++) close(open(path, O_RDONLY));
  int status, failed = 0;
  while (wait(&status) > 0) failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return failed;
}
`;

/**
 * `restart MARK GO`: opens MARK (the process connects), waits up to 30 s for the file GO, then a
 * forked child execs \`/bin/true restart-marker\` and the parent opens MARK again.
 */
export const RESTART_SOURCE = `
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  close(open(argv[1], O_RDONLY));
  for (int i = 0; i < 3000 && access(argv[2], F_OK) != 0; i++) usleep(10000);
  pid_t pid = fork();
  if (pid == 0) {
    char *child_argv[] = {"/bin/true", "restart-marker", 0};
    execv("/bin/true", child_argv);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  close(open(argv[1], O_RDONLY));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
`;

/**
 * \`lowfd N\`: two threads keep exec'ing a missing program with a 40 KiB argument (lines too long
 * for the shared connection: one-shot connections) while the main thread forks N children; each
 * child reports whether it holds a socket below fd 64 and whether its first open() got fd 3.
 * Prints \`children=N low_socket=A first_open_not_3=B\`.
 */
export const LOW_FD_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int stop;
static void *worker(void *unused) {
  (void)unused;
  char *big = malloc(40001);
  memset(big, 'q', 40000);
  big[40000] = 0;
  while (!stop) {
    char *av[] = {"/nonexistent/lowfd", big, NULL};
    execv(av[0], av);
  }
  return NULL;
}
int main(int argc, char **argv) {
  int forks = atoi(argv[1]);
  close(open("/dev/null", O_RDONLY));
  pthread_t threads[2];
  for (int t = 0; t < 2; t++) pthread_create(&threads[t], NULL, worker, NULL);
  int low = 0, moved = 0;
  for (int i = 0; i < forks; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      int extra = 0;
      struct stat st;
      for (int fd = 3; fd < 64; fd++) if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) extra++;
      int fd = open("/dev/null", O_RDONLY);
      _exit((extra ? 1 : 0) | (fd != 3 ? 2 : 0));
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      low += WEXITSTATUS(status) & 1;
      moved += (WEXITSTATUS(status) >> 1) & 1;
    }
  }
  stop = 1;
  for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
  printf("children=%d low_socket=%d first_open_not_3=%d\\n", forks, low, moved);
  return 0;
}
`;

/**
 * `signals PATH N`: a 200 us interval timer whose SIGALRM handler opens and closes /dev/null,
 * while the main thread opens PATH N times. Prints how often the handler ran.
 */
export const SIGNALS_SOURCE = `
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static volatile sig_atomic_t handled;
static void on_alarm(int sig) {
  (void)sig;
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
  handled++;
}
int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = { { 0, 200 }, { 0, 200 } };
  setitimer(ITIMER_REAL, &it, NULL);
  int n = atoi(argv[2]);
  for (int i = 0; i < n; i++) { int fd = open(argv[1], O_RDONLY); if (fd >= 0) close(fd); }
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer(ITIMER_REAL, &off, NULL);
  printf("%d\\n", (int)handled);
  return 0;
}
`;

/**
 * `fd_reuse DIR`: opens DIR/first; closes every fd from 3 up (close_range); opens
 * DIR/after-close-range; then dup2()s a file of its own, DIR/victim, over every fd from 900 to
 * 1023 and opens DIR/after-dup2. The victim file must stay empty.
 */
export const FD_REUSE_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  char path[512];
  snprintf(path, sizeof path, "%s/first", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  syscall(SYS_close_range, 3, ~0U, 0);
  snprintf(path, sizeof path, "%s/after-close-range", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  snprintf(path, sizeof path, "%s/victim", argv[1]);
  int victim = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  for (int fd = 900; fd < 1024; fd++) dup2(victim, fd);
  snprintf(path, sizeof path, "%s/after-dup2", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  snprintf(path, sizeof path, "%s/last", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  return 0;
}
`;

/**
 * `vfork_exec DIR`: opens DIR/before, vfork()s a child that execs /bin/true vfork-marker,
 * then (in the parent) opens DIR/after.
 */
export const VFORK_SOURCE = `
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  char path[512];
  snprintf(path, sizeof path, "%s/before", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  char *args[] = {"true", "vfork-marker", NULL};
  pid_t pid = vfork();
  if (pid == 0) { execve("/bin/true", args, environ); _exit(127); }
  int status;
  waitpid(pid, &status, 0);
  snprintf(path, sizeof path, "%s/after", argv[1]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  return WEXITSTATUS(status);
}
`;

/**
 * `opens PATH N [GO_FILE FINAL [DONE_DIR]]`: opens PATH N times; then creates DONE_DIR (mkdir is
 * not hooked, so it adds no event) and, if given, waits until GO_FILE exists and opens FINAL once.
 */
export const OPENS_SOURCE = `
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int n = atoi(argv[2]);
  for (int i = 0; i < n; i++) { int fd = open(argv[1], O_RDONLY); if (fd >= 0) close(fd); }
  if (argc > 5) mkdir(argv[5], 0700);
  if (argc > 4) {
    while (access(argv[3], F_OK) != 0) usleep(10000);
    int fd = open(argv[4], O_RDONLY);
    if (fd >= 0) close(fd);
  }
  return 0;
}
`;

/**
 * A second LD_PRELOAD library: it hooks open() itself (through dlsym(RTLD_NEXT)) and, when the
 * program exits, writes how many opens it saw to the file named by OTHER_PRELOAD_COUNT.
 */
export const OTHER_PRELOAD_SOURCE = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int seen;
int open(const char *path, int flags, ...) {
  static int (*real)(const char *, int, ...);
  if (!real) real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
  va_list ap; va_start(ap, flags); int mode = va_arg(ap, int); va_end(ap);
  seen++;
  return real(path, flags, mode);
}
__attribute__((destructor)) static void report(void) {
  const char *out = getenv("OTHER_PRELOAD_COUNT");
  if (!out) return;
  FILE *f = fopen(out, "w");
  if (f) { fprintf(f, "%d\\n", seen); fclose(f); }
}
`;

/**
 * `altstack SIZE`: runs a SIGUSR1 handler on an alternate signal stack of SIZE bytes; the handler
 * opens /dev/null. Exits 0 when the open succeeded (a stack overflow kills it with SIGSEGV).
 */
export const ALTSTACK_SOURCE = `
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t opened;
static void on_usr1(int sig) {
  (void)sig;
  int fd = open("/dev/null", O_RDONLY);
  opened = fd >= 0;
  if (fd >= 0) close(fd);
}
int main(int argc, char **argv) {
  size_t size = (size_t)atoi(argv[1]);
  stack_t ss = { .ss_sp = malloc(size), .ss_size = size, .ss_flags = 0 };
  if (sigaltstack(&ss, NULL) != 0) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  return opened ? 0 : 1;
}
`;

/**
 * `child_pid MODE DIR`: opens DIR/parent-before, makes a child by MODE (vfork, clone-vm: clone
 * with CLONE_VM | CLONE_VFORK, _Fork, raw-fork: the fork system call through syscall()) that opens
 * DIR/child and exits, waits for it, opens DIR/parent-after and prints "PARENT CHILD" pids.
 * None of these children runs glibc's fork handlers; the first two run on the parent's memory.
 */
export const CHILD_PID_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
pid_t _Fork(void);
static char path[512];
static char child_path[512];
static int child_open(void *arg) {
  (void)arg;
  close(open(child_path, O_RDONLY | O_CREAT, 0600));
  return 0;
}
int main(int argc, char **argv) {
  if (argc < 3) return 64;
  snprintf(path, sizeof path, "%s/parent-before", argv[2]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  snprintf(child_path, sizeof child_path, "%s/child", argv[2]);
  pid_t pid = -1;
  if (!strcmp(argv[1], "vfork")) {
    pid = vfork();
    if (pid == 0) { child_open(NULL); _exit(0); }
  } else if (!strcmp(argv[1], "clone-vm")) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    pid = clone(child_open, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
  } else if (!strcmp(argv[1], "_Fork")) {
    pid = _Fork();
    if (pid == 0) { child_open(NULL); _exit(0); }
  } else if (!strcmp(argv[1], "raw-fork")) {
    pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) { child_open(NULL); syscall(SYS_exit_group, 0); }
  }
  if (pid < 0) return 65;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 66;
  snprintf(path, sizeof path, "%s/parent-after", argv[2]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  printf("%d %d\\n", (int)getpid(), (int)pid);
  return 0;
}
`;

/**
 * `takeover MODE DIR`: opens DIR/first, then puts a descriptor of its own on every fd from 900 to
 * 1023 with dup2 and opens DIR/after. MODE socket: one end of a socketpair (the other end must
 * receive nothing; prints the bytes it got). MODE marked-eventfd: an eventfd given O_APPEND |
 * O_NOATIME, so that its file status flags are exactly those the shim marks its connection with
 * (a regular file cannot match: open() adds O_LARGEFILE); every fd from 900 up must still be
 * that eventfd (prints how many are not).
 */
export const TAKEOVER_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) return 64;
  char path[512];
  snprintf(path, sizeof path, "%s/first", argv[2]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  int mine, peer = -1;
  if (!strcmp(argv[1], "socket")) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 65;
    mine = sv[0];
    peer = sv[1];
  } else {
    mine = eventfd(0, 0);
    if (mine < 0 || fcntl(mine, F_SETFL, O_APPEND | O_NOATIME) != 0) return 67;
    if (fcntl(mine, F_GETFL) != (O_RDWR | O_APPEND | O_NOATIME)) return 68;
  }
  if (mine < 0) return 66;
  for (int fd = 900; fd < 1024; fd++) dup2(mine, fd);
  snprintf(path, sizeof path, "%s/after", argv[2]);
  close(open(path, O_RDONLY | O_CREAT, 0600));
  if (peer >= 0) {
    char buf[4096];
    ssize_t got = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
    printf("%zd\\n", got < 0 ? 0 : got);
  } else {
    struct stat own, seen;
    if (fstat(mine, &own) != 0) return 69;
    int replaced = 0;
    for (int fd = 900; fd < 1024; fd++) {
      if (fstat(fd, &seen) != 0 || seen.st_dev != own.st_dev || seen.st_ino != own.st_ino) replaced++;
    }
    printf("%d\\n", replaced);
  }
  return 0;
}
`;

/**
 * `raw_clone_vm DIR`: opens DIR/P0 and DIR/P1, then 20 times makes a child with a raw clone3
 * system call (CLONE_VM | CLONE_VFORK, no libc wrapper, so no hook sees it) that opens DIR/child
 * after 2 ms and exits, and opens DIR/P2 right after it. The child runs on the parent's memory
 * and reads its cached ids.
 */
export const RAW_CLONE_VM_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static char dir[400];
static void mark(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  close(open(path, O_RDONLY | O_CREAT, 0600));
}
int main(int argc, char **argv) {
  if (argc < 2) return 64;
  snprintf(dir, sizeof dir, "%s", argv[1]);
  mark("P0");
  mark("P1");
  for (int i = 0; i < 20; i++) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    long child;
    /* Inline: the child runs on this stack while the parent waits, as with vfork. */
    __asm__ volatile("syscall" : "=a"(child) : "0"((long)SYS_clone3), "D"(&args), "S"(sizeof args)
                     : "rcx", "r11", "memory");
    if (child == 0) {
      /* Past the shim's 1 ms ppid cache: the child's event reads the ppid and caches it. */
      struct timespec pause = {0, 2000000};
      syscall(SYS_nanosleep, &pause, NULL);
      mark("child");
      syscall(SYS_exit, 0);
    }
    if (child < 0) return 65;
    waitpid((pid_t)child, 0, 0);
    mark("P2");
  }
  return 0;
}
`;

/**
 * `sendmmsg_pair`: binds a UDP receiver on 0.0.0.0, prints `port P`, and sends it two datagrams
 * with one sendmmsg() call, the first to 127.0.0.1:P and the second to 127.0.0.3:P. Prints
 * `first RC ERRNO`; when only the first was sent, sends the second alone and prints `second RC
 * ERRNO`; then `received N`, the datagrams that arrived.
 */
export const SENDMMSG_SOURCE = `
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in any = {.sin_family = AF_INET};
  socklen_t len = sizeof any;
  if (bind(rx, (void *)&any, sizeof any) || getsockname(rx, (void *)&any, &len)) return 1;
  printf("port %d\\n", ntohs(any.sin_port));
  struct sockaddr_in to[2] = {any, any};
  inet_pton(AF_INET, "127.0.0.1", &to[0].sin_addr);
  inet_pton(AF_INET, "127.0.0.3", &to[1].sin_addr);
  struct iovec iov = {"x", 1};
  struct mmsghdr msgs[2] = {0};
  for (int i = 0; i < 2; i++) {
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  errno = 0;
  int rc = sendmmsg(tx, msgs, 2, 0);
  printf("first %d %d\\n", rc, rc < 0 ? errno : 0);
  if (rc == 1) {
    errno = 0;
    rc = sendmmsg(tx, msgs + 1, 1, 0);
    printf("second %d %d\\n", rc, rc < 0 ? errno : 0);
  }
  usleep(100000);
  char buf[8];
  int received = 0;
  while (recv(rx, buf, sizeof buf, 0) == 1) received++;
  printf("received %d\\n", received);
  return 0;
}
`;
