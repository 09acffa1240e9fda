/* UDP datagrams to many sockets sent with one system call (io_uring).
 *
 * A room's fan-out sends one datagram to each of many PeerConnections, one socket each,
 * so sendmmsg cannot batch it. An io_uring submission can: each entry names its own
 * socket and destination. Between chorus_udp_batch_begin and the matching end, the
 * calling thread's datagrams are copied into a per-thread ring of slots and sent together
 * by one io_uring_enter at the end (or earlier, when the ring is full or a socket is about
 * to go: chorus_udp_batch_flush). Outside a batch, or where io_uring is unavailable
 * (old kernel, disabled by sysctl or seccomp, CHORUS_UDP_BATCH=0 in the environment),
 * chorus_udp_batch_send sends at once with sendto.
 *
 * Every entry carries MSG_DONTWAIT, so the kernel sends it inline during the submission
 * or fails it (a full socket buffer drops the datagram, as sendto does); the flush waits
 * for every completion, so no slot is ever read by the kernel after the flush returns.
 *
 * Threading: all state is per thread; nothing is shared. Hot path: no allocation (the
 * ring and slots are made once per thread, on its first batch), no lock, no log. */
#ifndef CHORUS_NET_UDP_BATCH_H
#define CHORUS_NET_UDP_BATCH_H

#include <glib.h>
#include <stddef.h>
#include <sys/socket.h>

/* Opens a batch on the calling thread (batches nest: the outermost end flushes). */
void chorus_udp_batch_begin(void);
void chorus_udp_batch_end(void);

/* Sends now whatever the thread's batch holds (callers closing a socket that may have
 * datagrams queued call this first). */
void chorus_udp_batch_flush(void);

/* Drops the datagrams queued for fd (counted as errors): for a descriptor found closed
 * by its owner, whose number may already belong to another socket. */
void chorus_udp_batch_forget(int fd);

/* Queues a copy of the datagram (buf is borrowed for the call) when a batch is open,
 * otherwise sends it with sendto. Returns 0 (queued or sent) or -1 with errno from sendto;
 * a queued datagram that fails later is counted in chorus_udp_batch_errors. */
int chorus_udp_batch_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
                          socklen_t tolen);

/* TRUE when this thread's batches use io_uring (after its first batch). */
gboolean chorus_udp_batch_active(void);

/* Process-wide counters: datagrams the kernel took through batches, submissions
 * (system calls) that carried them, and batched datagrams the kernel refused (not
 * counted as sent). */
guint64 chorus_udp_batch_sent(void);
guint64 chorus_udp_batch_submits(void);
guint64 chorus_udp_batch_errors(void);
/* Threads that currently have an io_uring for their batches. */
guint chorus_udp_batch_rings(void);

#endif
