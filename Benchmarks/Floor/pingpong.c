// The machine's floor for a request and its answer between two processes: one byte each way
// over a loopback TCP connection (TCP_NODELAY, epoll on both sides), one exchange every GAP
// microseconds. What any HTTP service on this machine pays before it does any work.
//
//   pingpong GAP_US COUNT     prints: gap, count, round trip p50/p90/p99/max in microseconds
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: pingpong GAP_US COUNT\n"); return 2; }
    int gap = atoi(argv[1]), count = atoi(argv[2]), one = 1;
    if (gap < 0 || count < 1 || count > 1000000) { fprintf(stderr, "error: GAP_US >= 0, 1 <= COUNT <= 1000000\n"); return 2; }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 1)
        || getsockname(listener, (struct sockaddr *)&address, &length)) { perror("listen"); return 1; }
    pid_t echo = fork();
    if (echo < 0) { perror("fork"); return 1; }
    if (echo == 0) {  // the echoing process: waits in epoll like an event loop, answers each byte
        int peer = accept(listener, NULL, NULL), poller = epoll_create1(0);
        setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = peer};
        epoll_ctl(poller, EPOLL_CTL_ADD, peer, &event);
        char byte[64];
        for (;;) {
            epoll_wait(poller, &event, 1, -1);
            ssize_t got = read(peer, byte, sizeof byte);
            if (got <= 0) _exit(0);
            if (write(peer, byte, (size_t)got) != got) _exit(1);
        }
    }
    int client = socket(AF_INET, SOCK_STREAM, 0), poller = epoll_create1(0);
    if (connect(client, (struct sockaddr *)&address, sizeof address)) {
        perror("connect");
        kill(echo, SIGTERM);
        return 1;
    }
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = client};
    epoll_ctl(poller, EPOLL_CTL_ADD, client, &event);
    double *round_trip = malloc(sizeof(double) * (size_t)count), start = now_us();
    char byte = 'x';
    for (int i = 0; i < count; i++) {
        sleep_until(start + (double)(i + 1) * gap);
        double sent = now_us();
        if (write(client, &byte, 1) != 1 || epoll_wait(poller, &event, 1, 5000) != 1 || read(client, &byte, 1) != 1) {
            fprintf(stderr, "error: no echo within 5 s\n");
            kill(echo, SIGTERM);
            return 1;
        }
        round_trip[i] = now_us() - sent;
    }
    close(client);
    waitpid(echo, NULL, 0);
    printf("gap %d us, %d exchanges: round trip ", gap, count);
    print_percentiles(round_trip, count);
    return 0;
}
