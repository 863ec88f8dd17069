// What both floor programs need: a monotonic clock in microseconds, sleeping until an instant,
// and the measured values' percentiles.
#ifndef FLOOR_TIMING_H
#define FLOOR_TIMING_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Sorts the `count` values (microseconds) and prints their p50, p90, p99 and max, ending the line.
static void print_percentiles(double *values, int count) {
    qsort(values, (size_t)count, sizeof(double), by_value);
    printf("p50 %.0f, p90 %.0f, p99 %.0f, max %.0f us\n", values[count / 2], values[count * 9 / 10],
           values[count * 99 / 100], values[count - 1]);
}

// Sleeps until `due` (microseconds of now_us); returns at once when it has passed.
static void sleep_until(double due) {
    for (double wait = due - now_us(); wait > 0; wait = due - now_us()) {
        struct timespec t = {(time_t)(wait / 1e6), (long)((wait - (time_t)(wait / 1e6) * 1e6) * 1000)};
        nanosleep(&t, NULL);
    }
}

#endif
