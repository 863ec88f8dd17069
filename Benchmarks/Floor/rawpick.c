// Picks through a plain blocking socket: POST /v1/pick on one keep-alive connection, one every
// GAP microseconds, each answer read whole (by its Content-Length) before the next. The
// dispatcher's share of a pick's latency, without an HTTP client library in front of it.
//
//   rawpick PORT GAP_US COUNT [TOKEN]     prints: gap, count, p50/p90/p99/max in microseconds
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

// Reads one HTTP answer whole; returns its status code, or -1.
static int read_answer(int socket_fd, char *buffer, size_t size) {
    size_t have = 0;
    char *end = NULL;
    buffer[0] = 0;
    while (!(end = strstr(buffer, "\r\n\r\n"))) {
        if (have + 1 >= size) return -1;
        ssize_t got = read(socket_fd, buffer + have, size - 1 - have);
        if (got <= 0) return -1;
        have += (size_t)got;
        buffer[have] = 0;
    }
    size_t head = (size_t)(end + 4 - buffer), body = 0;
    for (char *line = strstr(buffer, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) body = (size_t)atol(line + 17);
    while (have < head + body) {
        if (have + 1 >= size) return -1;
        ssize_t got = read(socket_fd, buffer + have, size - 1 - have);
        if (got <= 0) return -1;
        have += (size_t)got;
    }
    return atoi(buffer + 9);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) { fprintf(stderr, "usage: rawpick PORT GAP_US COUNT [TOKEN]\n"); return 2; }
    int port = atoi(argv[1]), gap = atoi(argv[2]), count = atoi(argv[3]), one = 1;
    if (port < 1 || port > 65535 || gap < 0 || count < 1 || count > 1000000) {
        fprintf(stderr, "error: 1 <= PORT <= 65535, GAP_US >= 0, 1 <= COUNT <= 1000000\n");
        return 2;
    }
    char request[512];
    int length = snprintf(request, sizeof request, "POST /v1/pick HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: 0\r\n\r\n",
             argc == 5 ? "Authorization: Bearer " : "", argc == 5 ? argv[4] : "", argc == 5 ? "\r\n" : "");
    if (length < 0 || (size_t)length >= sizeof request) { fprintf(stderr, "error: the token is too long\n"); return 2; }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&address, sizeof address)) { perror("connect"); return 1; }
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval bound = {5, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    double *latency = malloc(sizeof(double) * (size_t)count), start = now_us();
    char answer[8192];
    for (int i = 0; i < count; i++) {
        sleep_until(start + (double)(i + 1) * gap);
        double sent = now_us();
        if (write(client, request, (size_t)length) != length) { perror("write"); return 1; }
        int status = read_answer(client, answer, sizeof answer);
        latency[i] = now_us() - sent;
        if (status != 200) { fprintf(stderr, "error: pick %d answered %d\n", i, status); return 1; }
    }
    printf("gap %d us, %d picks: ", gap, count);
    print_percentiles(latency, count);
    return 0;
}
