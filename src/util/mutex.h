/* Locks on POSIX threads. GLib's GMutex is futex-based and invisible to
 * ThreadSanitizer, so the core uses these (a TSan build then sees every lock). */
#ifndef CHORUS_UTIL_MUTEX_H
#define CHORUS_UTIL_MUTEX_H

#include <pthread.h>

typedef pthread_mutex_t ChorusMutex;
typedef pthread_cond_t ChorusCond;

#define CHORUS_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER

static inline void chorus_mutex_init(ChorusMutex *m)
{
    pthread_mutex_init(m, NULL);
}

static inline void chorus_mutex_clear(ChorusMutex *m)
{
    pthread_mutex_destroy(m);
}

static inline void chorus_mutex_lock(ChorusMutex *m)
{
    pthread_mutex_lock(m);
}

static inline void chorus_mutex_unlock(ChorusMutex *m)
{
    pthread_mutex_unlock(m);
}

static inline void chorus_cond_init(ChorusCond *c)
{
    pthread_cond_init(c, NULL);
}

static inline void chorus_cond_clear(ChorusCond *c)
{
    pthread_cond_destroy(c);
}

static inline void chorus_cond_wait(ChorusCond *c, ChorusMutex *m)
{
    pthread_cond_wait(c, m);
}

static inline void chorus_cond_signal(ChorusCond *c)
{
    pthread_cond_signal(c);
}

#endif
