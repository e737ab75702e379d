// Accepts connections on a Unix socket and discards what they send, counting
// newline bytes. On SIGTERM it prints the count and exits: a reader that costs
// the writers nothing beyond their own write().
//
// usage: sink SOCKET
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void on_term(int signal_number) {
  (void)signal_number;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sink SOCKET\n");
    return 2;
  }
  struct sigaction action = {.sa_handler = on_term};
  sigaction(SIGTERM, &action, NULL);

  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (listener < 0 || strlen(argv[1]) >= sizeof address.sun_path) return 1;
  strcpy(address.sun_path, argv[1]);
  unlink(argv[1]);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(listener, 128) != 0) {
    perror("sink: bind/listen");
    return 1;
  }
  int poller = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);

  static char buffer[1 << 16];
  unsigned long long lines = 0;
  struct epoll_event ready[64];
  while (!stopping) {
    int count = epoll_wait(poller, ready, 64, -1);
    if (count < 0 && errno == EINTR) continue;
    for (int i = 0; i < count; i++) {
      int fd = ready[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
          struct epoll_event client_event = {.events = EPOLLIN, .data.fd = client};
          epoll_ctl(poller, EPOLL_CTL_ADD, client, &client_event);
        }
        continue;
      }
      ssize_t got = read(fd, buffer, sizeof buffer);
      if (got <= 0) {
        close(fd);
        continue;
      }
      for (ssize_t j = 0; j < got; j++) lines += buffer[j] == '\n';
    }
  }
  unlink(argv[1]);
  printf("%llu\n", lines);
  return 0;
}
