// The cheapest library that does what issue 4 asks of every exec: an Exec
// event sent to the collector before the real call, by the process that
// execs, on a connection of its own (rule 5: a forked child never writes on
// its parent's connection). It hooks execve() only (bash's path) and sends a
// fixed line made once in the constructor: no argv, env or cwd encoding, no
// other hooks, no socket checks. Whatever it costs is the floor of the design
// the issue prescribes, before any of the shim's own work.
//
// Reads CONTAINAI_AUDIT_SOCKET and CONTAINAI_SESSION_ID like the shim.
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un address = {.sun_family = AF_UNIX};
static socklen_t address_length;
static char line[512];
static int line_length;

__attribute__((constructor)) static void prepare(void) {
  const char *socket_path = getenv("CONTAINAI_AUDIT_SOCKET");
  const char *session = getenv("CONTAINAI_SESSION_ID");
  if (socket_path == NULL || session == NULL || strlen(socket_path) >= sizeof address.sun_path) {
    return;
  }
  strcpy(address.sun_path, socket_path);
  address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(socket_path) + 1);
  int length = snprintf(
      line, sizeof line,
      "{\"v\":1,\"timestamp\":\"2026-11-27T00:00:00.000000000Z\",\"source\":\"Shim\","
      "\"event_type\":\"Exec\",\"metadata\":{\"session_id\":\"%s\",\"agent\":\"bench\"},"
      "\"process\":{\"pid\":1,\"ppid\":1,\"tid\":1,\"uid\":0,\"gid\":0},\"payload\":{"
      "\"call\":\"execve\",\"path\":\"/bin/true\",\"cwd\":\"/\",\"argv\":[\"/bin/true\"],"
      "\"env\":[]},\"seq\":0}\n",
      session);
  line_length = length > 0 && length < (int)sizeof line ? length : 0;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
  int saved_errno = errno;
  if (line_length > 0) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      if (connect(fd, (struct sockaddr *)&address, address_length) == 0) {
        send(fd, line, (size_t)line_length, MSG_NOSIGNAL);
      }
      close(fd);
    }
  }
  errno = saved_errno;
  return (int)syscall(SYS_execve, path, argv, envp);
}
