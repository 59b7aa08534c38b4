/* A UDP echo server on Skiff's C API, written like a POSIX program: socket, bind, then an epoll loop.
 *
 *   udp-echo-c [EAL args] -- --ip A.B.C.D/P [stack options] [PORT]
 *
 * skiff_embed_run() (skiff_embed.h) starts EAL and the stack from the command line and calls the hook on
 * the shard's lcore after every poll iteration; here the hook owns one epoll set. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/skiff.h"
#include "api/skiff_embed.h"

struct echo {
  int port;
  int ep;   /* epoll set, -1 until the first call */
  int fd;   /* the UDP socket */
  unsigned long echoed;
};

static int setup(struct echo* e) {
  struct sockaddr_in a;
  struct epoll_event ev;
  e->fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (e->fd < 0) return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)e->port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (skiff_bind(e->fd, (struct sockaddr*)&a, sizeof a) < 0) return -1;
  e->ep = skiff_epoll_create1(0);
  if (e->ep < 0) return -1;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = e->fd;
  return skiff_epoll_ctl(e->ep, EPOLL_CTL_ADD, e->fd, &ev);
}

/* Runs on the shard's lcore after every poll iteration; returns non-zero to stop. */
static int hook(void* arg) {
  struct echo* e = arg;
  struct epoll_event evs[16];
  char buf[65536];
  int i, n;
  if (e->ep < 0 && setup(e) < 0) {
    fprintf(stderr, "udp-echo-c: setup: %s\n", strerror(errno));
    return 1;
  }
  n = skiff_epoll_wait(e->ep, evs, 16, 0); /* never wait here: the poll loop is our caller */
  for (i = 0; i < n; ++i) {
    for (;;) {
      struct sockaddr_in from;
      socklen_t flen = sizeof from;
      ssize_t r = skiff_recvfrom(evs[i].data.fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen);
      if (r < 0) break; /* EAGAIN: drained */
      if (skiff_sendto(evs[i].data.fd, buf, (size_t)r, 0, (struct sockaddr*)&from, flen) == r) e->echoed++;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  struct echo e = {7, -1, -1, 0};
  const char* port = skiff_embed_app_arg(argc, argv, 0);
  if (port) e.port = atoi(port);
  int rc = skiff_embed_run(argc, argv, "udp-echo-c", hook, &e);
  printf("udp-echo-c: echoed %lu datagrams\n", e.echoed);
  return rc;
}
