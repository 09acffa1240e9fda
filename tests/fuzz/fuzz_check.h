/* CHECK(cond) for the fuzz targets: a failed check prints "<file>:<line>: check failed:
 * <cond>" and aborts, which libFuzzer reports as a crash (tests/fuzz/run.sh shows the line). */
#ifndef CHORUS_FUZZ_CHECK_H
#define CHORUS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_check_failed(__FILE__, __LINE__, #cond);                                          \
    } while (0)

static inline _Noreturn void fuzz_check_failed(const char *file, int line, const char *what)
{
    const char *base = strrchr(file, '/');
    fprintf(stderr, "%s:%d: check failed: %s\n", base ? base + 1 : file, line, what);
    abort();
}

#endif
