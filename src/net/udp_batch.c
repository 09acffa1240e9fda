/* UDP datagrams to many sockets in one io_uring submission (see udp_batch.h).
 *
 * The ring is set up with the raw system calls of <linux/io_uring.h> (the kernel's
 * interface; no library). Each thread gets its own ring and BATCH_SLOTS slots on its
 * first batch; a slot holds the datagram's copy, its destination and the msghdr the
 * IORING_OP_SENDMSG entry points at. A flush submits every queued entry and waits for
 * all their completions in the same io_uring_enter call. */
#include "net/udp_batch.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BATCH_SLOTS       64   /* datagrams per submission; a full ring is flushed at once */
#define SLOT_BYTES        1500 /* larger datagrams are sent at once (after a flush) */
#define BATCH_MAX_RETRIES 1000 /* io_uring_enter calls per flush before giving up the ring */

typedef struct {
    struct msghdr mh;
    struct iovec iov;
    struct sockaddr_storage to;
    uint8_t data[SLOT_BYTES];
} Slot;

typedef struct {
    int ring_fd; /* -1: this thread sends with sendto */
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    void *ring_map, *sqe_map;
    size_t ring_len, sqe_len;
    int depth;          /* nested begin calls */
    unsigned n;         /* queued datagrams */
    unsigned forgotten; /* of those, turned into no-ops by chorus_udp_batch_forget */
    Slot *slots;
} Batch;

static __thread Batch *thread_batch;
static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;
static gboolean batch_enabled = TRUE;
static guint64 stat_sent, stat_submits, stat_errors; /* __atomic */
static guint stat_rings;                             /* __atomic */

/* ---- ring setup --------------------------------------------------------------------- */

static void batch_destroy(void *data)
{
    Batch *b = data;
    if (b->ring_fd >= 0) {
        munmap(b->sqe_map, b->sqe_len);
        munmap(b->ring_map, b->ring_len);
        close(b->ring_fd);
        __atomic_fetch_sub(&stat_rings, 1, __ATOMIC_RELAXED);
    }
    g_free(b->slots);
    g_free(b);
}

static void batch_global_init(void)
{
    const char *v = g_getenv("CHORUS_UDP_BATCH");
    batch_enabled = !(v && strcmp(v, "0") == 0);
    pthread_key_create(&batch_key, batch_destroy);
}

static int ring_open(struct io_uring_params *p)
{
    /* SUBMIT_ALL: one bad entry does not stop the rest (5.18); COOP_TASKRUN and
     * SINGLE_ISSUER spare interrupts and locks (5.19, 6.0). Older kernels: no flags. */
    memset(p, 0, sizeof *p);
    p->flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
    int fd = (int)syscall(__NR_io_uring_setup, BATCH_SLOTS, p);
    if (fd < 0 && errno == EINVAL) {
        memset(p, 0, sizeof *p);
        fd = (int)syscall(__NR_io_uring_setup, BATCH_SLOTS, p);
    }
    return fd;
}

/* Maps the rings of a new io_uring; FALSE (and ring_fd -1) where there is none. */
static gboolean ring_setup(Batch *b)
{
    struct io_uring_params p;
    b->ring_fd = batch_enabled ? ring_open(&p) : -1;
    if (b->ring_fd < 0)
        return FALSE;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    b->ring_len = sq_len > cq_len ? sq_len : cq_len;
    b->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
    if (!(p.features & IORING_FEAT_SINGLE_MMAP) || p.sq_entries < BATCH_SLOTS)
        goto fail; /* kernels before 5.4: not worth a second code path */
    b->ring_map = mmap(NULL, b->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                       b->ring_fd, IORING_OFF_SQ_RING);
    if (b->ring_map == MAP_FAILED)
        goto fail;
    b->sqe_map = mmap(NULL, b->sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                      b->ring_fd, IORING_OFF_SQES);
    if (b->sqe_map == MAP_FAILED) {
        munmap(b->ring_map, b->ring_len);
        goto fail;
    }
    char *r = b->ring_map;
    b->sq_tail = (unsigned *)(void *)(r + p.sq_off.tail);
    b->sq_mask = (unsigned *)(void *)(r + p.sq_off.ring_mask);
    b->sq_array = (unsigned *)(void *)(r + p.sq_off.array);
    b->cq_head = (unsigned *)(void *)(r + p.cq_off.head);
    b->cq_tail = (unsigned *)(void *)(r + p.cq_off.tail);
    b->cq_mask = (unsigned *)(void *)(r + p.cq_off.ring_mask);
    b->cqes = (struct io_uring_cqe *)(void *)(r + p.cq_off.cqes);
    b->sqes = b->sqe_map;
    return TRUE;
fail:
    close(b->ring_fd);
    b->ring_fd = -1;
    return FALSE;
}

static Batch *batch_get(void)
{
    if (G_LIKELY(thread_batch != NULL))
        return thread_batch;
    pthread_once(&batch_once, batch_global_init);
    Batch *b = g_new0(Batch, 1);
    if (ring_setup(b)) {
        b->slots = g_new0(Slot, BATCH_SLOTS);
        __atomic_fetch_add(&stat_rings, 1, __ATOMIC_RELAXED);
    }
    thread_batch = b;
    pthread_setspecific(batch_key, b); /* batch_destroy at thread exit */
    return b;
}

/* ---- submission ----------------------------------------------------------------------- */

/* Takes every completion there is; returns how many, adding failures to *failed. */
static unsigned reap(Batch *b, unsigned *failed)
{
    unsigned head = *b->cq_head, seen = 0;
    unsigned tail = __atomic_load_n(b->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++, seen++)
        if (b->cqes[head & *b->cq_mask].res < 0)
            (*failed)++;
    __atomic_store_n(b->cq_head, head, __ATOMIC_RELEASE);
    return seen;
}

/* Submits the n queued entries and waits until all have completed. */
static void submit_all(Batch *b)
{
    unsigned left = b->n, done = 0, calls = 0, failed = 0;
    while (done < b->n) {
        unsigned want = b->n - done;
        int r = (int)syscall(__NR_io_uring_enter, b->ring_fd, left, want, IORING_ENTER_GETEVENTS,
                             NULL, 0);
        calls++;
        gboolean transient = r < 0 && (errno == EINTR || errno == EAGAIN || errno == EBUSY);
        if (r < 0 && (!transient || calls > BATCH_MAX_RETRIES)) {
            /* Broken ring (should not happen): give up on it for this thread. The
             * unsubmitted entries are dropped, as a full socket buffer would. */
            __atomic_fetch_add(&stat_errors, left + failed, __ATOMIC_RELAXED);
            munmap(b->sqe_map, b->sqe_len);
            munmap(b->ring_map, b->ring_len);
            close(b->ring_fd);
            b->ring_fd = -1;
            __atomic_fetch_sub(&stat_rings, 1, __ATOMIC_RELAXED);
            return;
        }
        if (r > 0)
            left -= (unsigned)r;
        done += reap(b, &failed);
    }
    if (failed)
        __atomic_fetch_add(&stat_errors, failed, __ATOMIC_RELAXED);
    __atomic_fetch_add(&stat_sent, b->n - failed - b->forgotten, __ATOMIC_RELAXED);
    __atomic_fetch_add(&stat_submits, calls, __ATOMIC_RELAXED);
}

void chorus_udp_batch_flush(void)
{
    Batch *b = thread_batch;
    if (!b || b->n == 0)
        return;
    submit_all(b);
    b->n = 0;
    b->forgotten = 0;
}

void chorus_udp_batch_forget(int fd)
{
    Batch *b = thread_batch;
    if (!b || b->n == 0 || b->ring_fd < 0)
        return;
    unsigned tail = *b->sq_tail;
    for (unsigned i = 0; i < b->n; i++) { /* the last n entries, not yet submitted */
        struct io_uring_sqe *e = &b->sqes[(tail - b->n + i) & *b->sq_mask];
        if (e->opcode == IORING_OP_SENDMSG && e->fd == fd) {
            uint64_t user_data = e->user_data;
            memset(e, 0, sizeof *e); /* a NOP with no flags: it completes with 0 */
            e->opcode = IORING_OP_NOP;
            e->user_data = user_data;
            b->forgotten++;
            __atomic_fetch_add(&stat_errors, 1, __ATOMIC_RELAXED);
        }
    }
}

void chorus_udp_batch_begin(void)
{
    batch_get()->depth++;
}

void chorus_udp_batch_end(void)
{
    Batch *b = thread_batch;
    if (b && b->depth > 0 && --b->depth == 0)
        chorus_udp_batch_flush();
}

static void queue(Batch *b, int fd, const void *buf, size_t len, const struct sockaddr *to,
                  socklen_t tolen)
{
    Slot *s = &b->slots[b->n];
    memcpy(s->data, buf, len);
    memcpy(&s->to, to, tolen);
    s->iov.iov_base = s->data;
    s->iov.iov_len = len;
    s->mh.msg_name = &s->to;
    s->mh.msg_namelen = tolen;
    s->mh.msg_iov = &s->iov;
    s->mh.msg_iovlen = 1;
    unsigned tail = *b->sq_tail, idx = tail & *b->sq_mask;
    struct io_uring_sqe *e = &b->sqes[idx];
    memset(e, 0, sizeof *e);
    e->opcode = IORING_OP_SENDMSG;
    e->fd = fd;
    e->addr = (uint64_t)(uintptr_t)&s->mh;
    e->len = 1;
    e->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL; /* fail rather than wait: slots are reused */
    e->user_data = b->n;
    b->sq_array[idx] = idx;
    __atomic_store_n(b->sq_tail, tail + 1, __ATOMIC_RELEASE);
    b->n++;
}

int chorus_udp_batch_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
                          socklen_t tolen)
{
    Batch *b = thread_batch;
    if (G_LIKELY(b && b->depth > 0 && b->ring_fd >= 0 && len <= SLOT_BYTES &&
                 tolen <= sizeof(struct sockaddr_storage))) {
        if (b->n == BATCH_SLOTS)
            chorus_udp_batch_flush();
        if (b->ring_fd >= 0) { /* a failed flush may have dropped the ring */
            queue(b, fd, buf, len, to, tolen);
            return 0;
        }
    }
    if (b && b->n > 0)
        chorus_udp_batch_flush(); /* keep each socket's datagrams in order */
    ssize_t n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
    return n < 0 ? -1 : 0;
}

gboolean chorus_udp_batch_active(void)
{
    return thread_batch && thread_batch->ring_fd >= 0;
}

guint64 chorus_udp_batch_sent(void)
{
    return __atomic_load_n(&stat_sent, __ATOMIC_RELAXED);
}

guint64 chorus_udp_batch_submits(void)
{
    return __atomic_load_n(&stat_submits, __ATOMIC_RELAXED);
}

guint chorus_udp_batch_rings(void)
{
    return __atomic_load_n(&stat_rings, __ATOMIC_RELAXED);
}

guint64 chorus_udp_batch_errors(void)
{
    return __atomic_load_n(&stat_errors, __ATOMIC_RELAXED);
}
