// Times a loop of open()+close() on one file and prints the nanoseconds per
// iteration, wall-clock and CPU time of the process (the latter is far less
// disturbed by other load on the machine). With a socket path it also writes one 300-byte line to that Unix
// socket per open: the floor of any hook that reports each open synchronously.
//
// usage: open_loop ITERATIONS FILE [SOCKET]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_BYTES 300

static int connect_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (fd < 0 || strlen(path) >= sizeof address.sun_path) return -1;
  strcpy(address.sun_path, path);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return -1;
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: open_loop ITERATIONS FILE [SOCKET]\n");
    return 2;
  }
  long iterations = atol(argv[1]);
  const char *file = argv[2];
  int sock = -1;
  if (argc > 3 && (sock = connect_unix(argv[3])) < 0) {
    perror("open_loop: connect");
    return 1;
  }
  char line[LINE_BYTES];
  memset(line, 'x', sizeof line);
  line[LINE_BYTES - 1] = '\n';

  struct timespec start, end, cpu_start, cpu_end;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < iterations; i++) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      perror("open_loop: open");
      return 1;
    }
    if (sock >= 0 && write(sock, line, LINE_BYTES) != LINE_BYTES) {
      perror("open_loop: write");
      return 1;
    }
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
  double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  double cpu_ns = (cpu_end.tv_sec - cpu_start.tv_sec) * 1e9 + (cpu_end.tv_nsec - cpu_start.tv_nsec);
  printf("%.2f %.2f\n", ns / (double)iterations, cpu_ns / (double)iterations);
  return 0;
}
