/*
 * The suite's native load generator: the same connections, loads and figures as bench/suite/loadgen-thread.ts, in
 * C, so that the instrument's own send lateness stays far below what it measures. Built at bench time by
 * bench/suite/native-loadgen.ts (`cc -O2 -pthread`); bench/suite/loadgen-process.ts runs it and falls back to the
 * Node generator where no C compiler is found.
 *
 *   loadgen --threads N
 *
 * One line per request on stdin, `<id> <thread> <verb> <args...>`, answered by one JSON line on stdout in the shape
 * of loadgen-thread.ts's ThreadReply:
 *   <id> <t> connect <host> <port> <concurrency> <protocol|-> <groups> (<serverId> <count>)...
 *   <id> <t> run <payloadBytes> <warmupMs> <measureMs> <drainMs> <groups> (c <window> | o <rate> | i 0)...
 *   <id> <t> disconnect
 * End of input ends the process.
 *
 * Pacing: an open-loop thread sleeps (clock_nanosleep, absolute, 1 ns timer slack) until 30 µs before the next due
 * time and spins the rest; a shorter gap is slept whole, so the thread never spins through a run of short gaps and
 * holds a core only while it has work. Replies do not wake it: it reads them after each send, and times each by when
 * the kernel received it (SO_TIMESTAMPNS), so reading late does not make a reply late. A thread whose open-loop
 * rate is at most FIFO_MAX_RATE runs the load as SCHED_FIFO priority 1, so that waking it preempts whatever runs on
 * its core: under Linux's EEVDF scheduler a woken normal thread can wait out the running one's slice (1.5 ms on 2
 * cores). Above that rate a real-time sender's wake-ups (~20 µs of CPU each on this project's VMs) would take the CPU
 * the target needs, so the thread stays SCHED_OTHER. A thread that also drives a closed loop sleeps in
 * epoll_pwait2 (replies wake it) and stays SCHED_OTHER. The reply says how it ran (`scheduling`), and
 * `pollInterval` carries how late each timed sleep woke.
 *
 * Frames: client frames masked with the all-zero key (RFC 6455 lets the client pick it), payload f64 stamp (µs,
 * CLOCK_MONOTONIC) then u32 sequence number, the rest zero; ERROR control frames (serverType 0, type 2) are counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER 8
#define PAYLOAD_MIN 12
#define CONTROL_ERROR 2
#define MAX_GROUPS 8
#define MAX_EVENTS 256
#define READ_BUF (256 * 1024)
/* The longest sleep: an event (a reply, a command) ends it sooner. */
#define NAP_MAX_US 100000.0
/* Sleeps end this long before the due time and spin the rest: a timed wake-up here is ~30 µs late at the median. */
#define WAKE_LEAD_US 30.0
/* Above this rate (sends per second from one thread) a thread is not made SCHED_FIFO. A timed wake-up costs ~20 µs
 * of CPU on this project's VMs, and a real-time sender takes that first: probed at 10,000 msg/s per thread (2
 * threads), actorgate with 2 workers, which needs most of a core at that rate, answered at a p50 of tens of ms. */
#define FIFO_MAX_RATE 4000.0
/* A wake-up this late past its deadline was not the pacer's: the thread was off its core. */
#define STALL_US 1000.0
#define CONNECT_TIMEOUT_US 10e6
#define CLOSE_TIMEOUT_US 2e6

/* ---- log-linear histogram, the same buckets as bench/lib/histogram.ts ---- */
#define SUB_BITS 7
#define DIRECT (1 << SUB_BITS)
#define HALF (DIRECT >> 1)
#define BUCKETS (DIRECT + (31 - SUB_BITS) * HALF)
#define MAX_VALUE 0x7fffffff

typedef struct {
  double counts[BUCKETS];
  double count, min, max, sum;
} hist_t;

static void hist_reset(hist_t *h) {
  memset(h, 0, sizeof *h);
  h->min = 1e300;
}

static void hist_record(hist_t *h, double value) {
  uint32_t v = value <= 0 ? 0 : value >= MAX_VALUE ? MAX_VALUE : (uint32_t)(value + 0.5);
  int index;
  if (v < DIRECT) index = (int)v;
  else {
    int exponent = 31 - __builtin_clz(v);
    index = DIRECT + (exponent - SUB_BITS) * HALF + (int)((v >> (exponent - SUB_BITS + 1)) - HALF);
  }
  h->counts[index]++;
  h->count++;
  h->sum += v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

/* ---- output: one JSON line per reply, written whole under a lock ---- */
typedef struct {
  char *data;
  size_t len, cap;
} out_t;

static void out_add(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(out_t *o, const char *fmt, ...) {
  for (;;) {
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(o->data + o->len, o->cap - o->len, fmt, args);
    va_end(args);
    if (n >= 0 && (size_t)n < o->cap - o->len) {
      o->len += (size_t)n;
      return;
    }
    o->cap = o->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
    o->data = realloc(o->data, o->cap);
    if (o->data == NULL) abort();
  }
}

static void out_hist(out_t *o, const hist_t *h) {
  out_add(o, "{\"buckets\":[");
  int first = 1;
  for (int i = 0; i < BUCKETS; i++) {
    if (h->counts[i] == 0) continue;
    out_add(o, "%s[%d,%.0f]", first ? "" : ",", i, h->counts[i]);
    first = 0;
  }
  if (h->count > 0) out_add(o, "],\"count\":%.0f,\"min\":%.0f,\"max\":%.0f,\"sum\":%.0f}", h->count, h->min, h->max, h->sum);
  else out_add(o, "],\"count\":0,\"min\":null,\"max\":0,\"sum\":0}");
}

/* A JSON string of a message made by this program (an errno text or a status line): escape what JSON needs. */
static void out_string(out_t *o, const char *s) {
  out_add(o, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') out_add(o, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) out_add(o, "\\u%04x", c);
    else out_add(o, "%c", c);
  }
  out_add(o, "\"");
}

static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;

static void reply(out_t *o) {
  pthread_mutex_lock(&stdout_lock);
  fwrite(o->data, 1, o->len, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&stdout_lock);
  o->len = 0;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- connections ---- */
enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_CLOSED };

typedef struct conn {
  int fd, state, group;
  uint32_t server_id;
  double started_us;
  int in_flight;
  uint32_t next_seq, run_first_seq;
  int64_t last_seq;
  /* Bytes written but not yet taken by the kernel (a partial write): sent first on EPOLLOUT. */
  unsigned char *pending;
  size_t pending_len, pending_cap;
  /* A partial frame (or the handshake response) carried to the next read. */
  unsigned char *carry;
  size_t carry_len, carry_cap;
  int want_out;
  /* Writes made while its read is handled are gathered in `pending` and sent as one when the read is done. */
  int corked;
} conn_t;

typedef struct {
  char mode; /* 'c' closed, 'o' open, 'i' idle */
  double param;
  double sent, echoed, echoed_in_window, out_of_order, client_behind;
  int error_codes[32];
  double error_counts[32];
  int error_kinds;
  hist_t latency, lateness;
  double next_due_us, interval_us;
  size_t rr;
  /* The most frames the client may have unsent on one connection before it counts itself behind. */
  size_t slots;
} group_t;

typedef struct command {
  struct command *next;
  char line[];
} command_t;

typedef struct {
  int index, epoll, wake;
  pthread_t tid;
  pthread_mutex_t lock;
  command_t *head, *tail;
  conn_t **conns[MAX_GROUPS];
  size_t counts[MAX_GROUPS], caps[MAX_GROUPS];
  int group_count;
  /* The run in progress. */
  group_t groups[MAX_GROUPS];
  int run_groups;
  size_t frame_bytes, body_at, payload_bytes;
  unsigned char *frame;
  double window_from, window_to, send_until, stalled_us;
  hist_t wake_lateness;
  uint32_t msg_id;
  int fifo, fifo_granted;
  /* The run has open-loop sends: its wake-ups are timed. */
  int pacing;
  /* Open loop only: the thread sleeps until its next send, not woken by replies, and reads them after each send. */
  int timer_only;
  unsigned char *buf;
  out_t out;
} thread_t;

static void conn_free(conn_t *c) {
  free(c->pending);
  free(c->carry);
  free(c);
}

static void grow(unsigned char **data, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t next = *cap * 2 > need ? *cap * 2 : need;
  *data = realloc(*data, next);
  if (*data == NULL) abort();
  *cap = next;
}

/* The connection is over (closed by the server, or an error): out of the epoll set, so it stops waking the thread.
 * Its descriptor is closed at `disconnect`, with the rest. */
static void mark_closed(thread_t *t, conn_t *c) {
  if (c->state == C_CLOSED) return;
  c->state = C_CLOSED;
  epoll_ctl(t->epoll, EPOLL_CTL_DEL, c->fd, NULL);
  shutdown(c->fd, SHUT_WR);
}

static void set_out_interest(thread_t *t, conn_t *c, int want) {
  if (c->want_out == want) return;
  c->want_out = want;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(t->epoll, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes `len` bytes, queueing what the kernel does not take now. */
static void conn_write(thread_t *t, conn_t *c, const unsigned char *data, size_t len) {
  if (c->state == C_CLOSED) return;
  size_t off = 0;
  if (c->pending_len == 0 && !c->corked) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return mark_closed(t, c);
    off = n > 0 ? (size_t)n : 0;
  }
  if (off == len) return;
  grow(&c->pending, &c->pending_cap, c->pending_len + len - off);
  memcpy(c->pending + c->pending_len, data + off, len - off);
  c->pending_len += len - off;
  if (!c->corked) set_out_interest(t, c, 1);
}

static void conn_flush(thread_t *t, conn_t *c) {
  if (c->pending_len == 0) return set_out_interest(t, c, 0);
  ssize_t n = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return mark_closed(t, c);
  if (n > 0) {
    memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
    c->pending_len -= (size_t)n;
  }
  set_out_interest(t, c, c->pending_len > 0); /* what the kernel did not take leaves when it can */
}

/* ---- the run's messages ---- */
static size_t masked_header(size_t length) { return (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4; }

static void prepare_frame(thread_t *t, size_t payload_bytes) {
  size_t body = HEADER + payload_bytes;
  t->payload_bytes = payload_bytes;
  t->body_at = masked_header(body);
  t->frame_bytes = t->body_at + body;
  free(t->frame);
  t->frame = calloc(1, t->frame_bytes);
  unsigned char *f = t->frame;
  f[0] = 0x82;
  if (body < 126) f[1] = 0x80 | (unsigned char)body;
  else if (body < 65536) {
    f[1] = 0x80 | 126;
    f[2] = (unsigned char)(body >> 8);
    f[3] = (unsigned char)body;
  } else {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) f[2 + i] = (unsigned char)((uint64_t)body >> (56 - 8 * i));
  }
  uint16_t length = (uint16_t)payload_bytes;
  memcpy(f + t->body_at, &length, 2); /* little-endian host: the protocol's byte order */
}

/* One message stamped `stamp_us`; 0 (nothing sent) when the client is behind: its own unsent bytes exceed the ring
 * the Node generator would hold (slots − 1 frames). */
static int send_message(thread_t *t, conn_t *c, double stamp_us) {
  if (c->state != C_OPEN) return 0;
  if (c->group >= t->run_groups || c->pending_len > (t->groups[c->group].slots - 1) * t->frame_bytes) return 0;
  unsigned char *f = t->frame;
  size_t at = t->body_at;
  uint16_t id = (uint16_t)(t->msg_id++ & 0xffff);
  uint32_t sid = c->server_id, seq = c->next_seq++;
  memcpy(f + at + 2, &id, 2);
  memcpy(f + at + 4, &sid, 4);
  memcpy(f + at + HEADER, &stamp_us, 8);
  memcpy(f + at + HEADER + 8, &seq, 4);
  conn_write(t, c, f, t->frame_bytes);
  c->in_flight++;
  return 1;
}

static int in_window(thread_t *t, double us) { return us >= t->window_from && us < t->window_to; }

static void send_closed(thread_t *t, group_t *g, conn_t *c, double now) {
  int counted = in_window(t, now);
  if (send_message(t, c, now)) {
    if (counted) g->sent++;
  } else if (counted) g->client_behind++;
}

/* Open loop: every send due by `now`, each stamped with its due time; lateness is taken once the writes are made. */
static _Thread_local double dues[4096];

static void send_due(thread_t *t, double now) {
  double until = now < t->send_until ? now : t->send_until;
  for (int gi = 0; gi < t->run_groups; gi++) {
    group_t *g = &t->groups[gi];
    size_t n = t->counts[gi];
    if (g->mode != 'o' || n == 0 || g->next_due_us > until) continue;
    int recorded = 0;
    while (g->next_due_us <= until && recorded < (int)(sizeof dues / sizeof dues[0])) {
      double due = g->next_due_us;
      g->next_due_us += g->interval_us;
      conn_t *c = t->conns[gi][g->rr++ % n];
      int counted = in_window(t, due);
      if (send_message(t, c, due)) {
        if (counted) g->sent++, dues[recorded++] = due;
      } else if (counted) g->client_behind++;
    }
    double sent = now_us();
    for (int i = 0; i < recorded; i++) hist_record(&g->lateness, sent - dues[i]);
  }
}

static double next_due(thread_t *t) {
  double next = 1e300;
  for (int gi = 0; gi < t->run_groups; gi++) {
    group_t *g = &t->groups[gi];
    if (g->mode == 'o' && t->counts[gi] > 0 && g->next_due_us < next) next = g->next_due_us;
  }
  return next;
}

static void count_error(group_t *g, int code) {
  for (int i = 0; i < g->error_kinds; i++)
    if (g->error_codes[i] == code) return (void)g->error_counts[i]++;
  if (g->error_kinds == 32) return;
  g->error_codes[g->error_kinds] = code;
  g->error_counts[g->error_kinds++] = 1;
}

static void on_message(thread_t *t, conn_t *c, const unsigned char *p, size_t length, double now) {
  uint32_t sid;
  memcpy(&sid, p + 4, 4);
  group_t *g = c->group < t->run_groups ? &t->groups[c->group] : NULL;
  if (((sid >> 8) & 0xff) == 0) {
    uint16_t type, code;
    memcpy(&type, p + 2, 2);
    if (type != CONTROL_ERROR || length < HEADER + 2) return;
    memcpy(&code, p + HEADER, 2);
    c->in_flight--;
    if (g == NULL) return;
    if (in_window(t, now)) count_error(g, code);
    if (g->mode == 'c' && now < t->send_until) send_closed(t, g, c, now_us());
    return;
  }
  if (length < HEADER + PAYLOAD_MIN) return;
  uint32_t seq;
  double stamp;
  memcpy(&seq, p + HEADER + 8, 4);
  memcpy(&stamp, p + HEADER, 8);
  if (seq < c->run_first_seq) return; /* a late echo of an earlier run */
  c->in_flight--;
  if (g == NULL) return;
  if ((int64_t)seq <= c->last_seq) g->out_of_order++;
  else c->last_seq = seq;
  if (in_window(t, now)) g->echoed_in_window++;
  if (in_window(t, stamp)) {
    g->echoed++;
    hist_record(&g->latency, now - stamp);
  }
  if (g->mode == 'c' && now < t->send_until) send_closed(t, g, c, now_us());
}

/* Parses whole frames from `data`; returns the bytes used (the rest is a partial frame). */
static size_t parse_frames(thread_t *t, conn_t *c, const unsigned char *data, size_t size, double now) {
  size_t at = 0;
  while (size - at >= 2) {
    unsigned char b0 = data[at], len7 = data[at + 1] & 0x7f;
    size_t header = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
    if (size - at < header) break;
    uint64_t length = len7;
    if (header == 4) length = (uint64_t)data[at + 2] << 8 | data[at + 3];
    else if (header == 10) {
      length = 0;
      for (int i = 0; i < 8; i++) length = length << 8 | data[at + 2 + i];
    }
    if (size - at - header < length) break;
    const unsigned char *p = data + at + header;
    int opcode = b0 & 0x0f;
    if (opcode == 0x2 && length >= HEADER) on_message(t, c, p, (size_t)length, now);
    else if (opcode == 0x9 && length <= 125) {
      unsigned char pong[6 + 125] = {0x8a, (unsigned char)(0x80 | length)};
      memcpy(pong + 6, p, (size_t)length);
      conn_write(t, c, pong, 6 + (size_t)length);
    } else if (opcode == 0x8) {
      mark_closed(t, c);
      return size;
    }
    at += header + (size_t)length;
  }
  return at;
}

static void parse_chunk(thread_t *t, conn_t *c, const unsigned char *data, size_t n, double now) {
  if (c->carry_len > 0) {
    grow(&c->carry, &c->carry_cap, c->carry_len + n);
    memcpy(c->carry + c->carry_len, data, n);
    c->carry_len += n;
    size_t used = parse_frames(t, c, c->carry, c->carry_len, now);
    memmove(c->carry, c->carry + used, c->carry_len - used);
    c->carry_len -= used;
    return;
  }
  size_t used = parse_frames(t, c, data, n, now);
  if (used < n) {
    grow(&c->carry, &c->carry_cap, n - used);
    memcpy(c->carry, data + used, n - used);
    c->carry_len = n - used;
  }
}

/* One read's frames; what they answer (closed-loop sends, pongs) leaves in one write. */
static void handle_frames(thread_t *t, conn_t *c, const unsigned char *data, size_t n, double now) {
  c->corked = 1;
  parse_chunk(t, c, data, n, now);
  c->corked = 0;
  if (c->pending_len > 0) conn_flush(t, c);
}

/* ---- connecting ---- */
typedef struct {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char request[512];
  size_t request_len;
  int concurrency, in_progress;
  int remaining[MAX_GROUPS];
  int opened[MAX_GROUPS];
  int failed;
  char first_error[256];
  int groups;
  uint32_t server_ids[MAX_GROUPS];
  /* The attempts in progress (at most `concurrency`), for their timeout. */
  conn_t **attempts;
} connecting_t;

static void forget_attempt(connecting_t *k, conn_t *c) {
  for (int i = 0; i < k->in_progress; i++)
    if (k->attempts[i] == c) {
      k->attempts[i] = k->attempts[--k->in_progress];
      return;
    }
}

static void fail_connect(connecting_t *k, conn_t *c, const char *why) {
  forget_attempt(k, c);
  k->failed++;
  if (k->first_error[0] == 0) snprintf(k->first_error, sizeof k->first_error, "%s", why);
  close(c->fd);
  conn_free(c);
}

static int start_connect(thread_t *t, connecting_t *k, int gi) {
  conn_t *c = calloc(1, sizeof *c);
  c->fd = socket(k->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->group = gi;
  c->server_id = k->server_ids[gi];
  c->state = C_CONNECTING;
  c->last_seq = -1;
  c->started_us = now_us();
  k->attempts[k->in_progress++] = c;
  if (c->fd < 0) {
    c->fd = open("/dev/null", O_RDONLY); /* so fail_connect has something to close */
    fail_connect(k, c, strerror(errno));
    return 0;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&k->addr, k->addr_len) < 0 && errno != EINPROGRESS) {
    fail_connect(k, c, strerror(errno));
    return 0;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  epoll_ctl(t->epoll, EPOLL_CTL_ADD, c->fd, &ev);
  c->want_out = 1;
  return 1;
}

static void add_conn(thread_t *t, conn_t *c) {
  int gi = c->group;
  if (t->counts[gi] == t->caps[gi]) {
    t->caps[gi] = t->caps[gi] * 2 + 64;
    t->conns[gi] = realloc(t->conns[gi], t->caps[gi] * sizeof(conn_t *));
  }
  t->conns[gi][t->counts[gi]++] = c;
}

/* A connecting connection's event: the TCP connect completed, or the upgrade response arrived. */
static void connect_event(thread_t *t, connecting_t *k, conn_t *c, uint32_t events) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) return fail_connect(k, c, strerror(err ? err : ECONNREFUSED));
    if (!(events & EPOLLOUT)) return;
    if (send(c->fd, k->request, k->request_len, MSG_NOSIGNAL) != (ssize_t)k->request_len) return fail_connect(k, c, "upgrade request not sent whole");
    c->state = C_HANDSHAKE;
    set_out_interest(t, c, 0);
    return;
  }
  ssize_t n = recv(c->fd, t->buf, READ_BUF, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return fail_connect(k, c, n == 0 ? "closed during the upgrade" : strerror(errno));
  if (n < 0) return;
  grow(&c->carry, &c->carry_cap, c->carry_len + (size_t)n + 1);
  memcpy(c->carry + c->carry_len, t->buf, (size_t)n);
  c->carry_len += (size_t)n;
  c->carry[c->carry_len] = 0;
  char *end = memmem(c->carry, c->carry_len, "\r\n\r\n", 4);
  if (end == NULL) return;
  if (strncmp((char *)c->carry, "HTTP/1.1 101", 12) != 0) {
    char why[200];
    char *eol = memchr(c->carry, '\r', c->carry_len);
    snprintf(why, sizeof why, "upgrade refused: %.*s", (int)(eol - (char *)c->carry), (char *)c->carry);
    return fail_connect(k, c, why);
  }
  size_t rest = c->carry_len - (size_t)(end + 4 - (char *)c->carry);
  memmove(c->carry, end + 4, rest);
  c->carry_len = 0;
  c->state = C_OPEN;
  int one = 1;
  setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  forget_attempt(k, c);
  k->opened[c->group]++;
  add_conn(t, c);
  if (rest > 0) {
    unsigned char *copy = malloc(rest);
    memcpy(copy, c->carry, rest);
    handle_frames(t, c, copy, rest, now_us());
    free(copy);
  }
}

static void handle_events(thread_t *t, struct epoll_event *events, int n);

static void do_connect(thread_t *t, long id, char *args) {
  connecting_t k = {0};
  char host[256], protocol[256];
  int port, groups, used = 0;
  if (sscanf(args, "%255s %d %d %255s %d%n", host, &port, &k.concurrency, protocol, &groups, &used) != 5 || groups > MAX_GROUPS) {
    out_add(&t->out, "{\"type\":\"failed\",\"id\":%ld,\"error\":\"bad connect request\"}", id);
    return reply(&t->out);
  }
  args += used;
  for (int i = 0; i < groups; i++) {
    int count = 0;
    sscanf(args, " %u %d%n", &k.server_ids[i], &count, &used);
    args += used;
    k.remaining[i] = count;
  }
  k.groups = groups;
  if (groups > t->group_count) t->group_count = groups;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  char port_text[16];
  snprintf(port_text, sizeof port_text, "%d", port);
  int rc = getaddrinfo(host, port_text, &hints, &res);
  if (rc != 0) {
    out_add(&t->out, "{\"type\":\"failed\",\"id\":%ld,\"error\":", id);
    out_string(&t->out, gai_strerror(rc));
    out_add(&t->out, "}");
    return reply(&t->out);
  }
  memcpy(&k.addr, res->ai_addr, res->ai_addrlen);
  k.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  k.request_len = (size_t)snprintf(k.request, sizeof k.request,
                                   "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                                   host, port, strcmp(protocol, "-") ? "Sec-WebSocket-Protocol: " : "", strcmp(protocol, "-") ? protocol : "",
                                   strcmp(protocol, "-") ? "\r\n" : "");
  if (k.request_len >= sizeof k.request) {
    out_add(&t->out, "{\"type\":\"failed\",\"id\":%ld,\"error\":\"host and subprotocol too long\"}", id);
    return reply(&t->out);
  }
  if (k.concurrency < 1) k.concurrency = 1;
  k.attempts = calloc((size_t)k.concurrency, sizeof(conn_t *));
  struct epoll_event events[MAX_EVENTS];
  for (int gi = 0; gi < groups; gi++) {
    while (k.remaining[gi] > 0 || k.in_progress > 0) {
      while (k.remaining[gi] > 0 && k.in_progress < k.concurrency) {
        k.remaining[gi]--;
        start_connect(t, &k, gi);
      }
      if (k.in_progress == 0) continue;
      int n = epoll_wait(t->epoll, events, MAX_EVENTS, 100);
      for (int i = 0; i < n; i++) {
        conn_t *c = events[i].data.ptr;
        if (c != NULL && (c->state == C_CONNECTING || c->state == C_HANDSHAKE)) connect_event(t, &k, c, events[i].events);
        else handle_events(t, &events[i], 1);
      }
      /* Attempts that took too long: the Node generator's 10 s upgrade timeout. */
      double now = now_us();
      for (int j = k.in_progress - 1; j >= 0; j--)
        if (now - k.attempts[j]->started_us > CONNECT_TIMEOUT_US) fail_connect(&k, k.attempts[j], "no upgrade within 10000 ms");
    }
  }
  free(k.attempts);
  out_add(&t->out, "{\"type\":\"connected\",\"id\":%ld,\"opened\":[", id);
  for (int i = 0; i < groups; i++) out_add(&t->out, "%s%d", i ? "," : "", k.opened[i]);
  out_add(&t->out, "],\"failed\":%d", k.failed);
  if (k.first_error[0]) {
    out_add(&t->out, ",\"firstError\":");
    out_string(&t->out, k.first_error);
  }
  out_add(&t->out, "}");
  reply(&t->out);
}

/* ---- running a load ---- */
static void set_fifo(thread_t *t, int on) {
  struct sched_param param = {.sched_priority = on ? 1 : 0};
  if (on) t->fifo = t->fifo_granted = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
  else if (t->fifo) {
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
    t->fifo = 0;
  }
}

/*
 * Reads what a connection has. Each chunk is timed by when the kernel received it (SO_TIMESTAMPNS, taken on
 * CLOCK_REALTIME and moved onto CLOCK_MONOTONIC by the two clocks' offset at the read), so a reply read late is
 * still timed right; without a timestamp, by the read. For TCP the timestamp is the chunk's last segment's: an echo
 * that shared a read with a later one would be timed by the later, which open-loop loads (64 connections, one reply
 * in flight per connection at a time almost always) make rare.
 */
static void read_conn(thread_t *t, conn_t *c) {
  for (;;) {
    struct iovec iov = {.iov_base = t->buf, .iov_len = READ_BUF};
    union {
      char bytes[CMSG_SPACE(sizeof(struct timespec))];
      struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    ssize_t n = recvmsg(c->fd, &msg, 0);
    if (n > 0) {
      double now = now_us(), arrived = now;
      for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS) continue;
        struct timespec rx, real;
        memcpy(&rx, CMSG_DATA(cm), sizeof rx);
        clock_gettime(CLOCK_REALTIME, &real);
        double ago = (real.tv_sec - rx.tv_sec) * 1e6 + (real.tv_nsec - rx.tv_nsec) / 1e3;
        if (ago >= 0 && ago < 1e6) arrived = now - ago;
      }
      handle_frames(t, c, t->buf, (size_t)n, arrived);
      if ((size_t)n < READ_BUF) return;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) mark_closed(t, c);
    return;
  }
}

/* The command eventfd fired: clear it (level-triggered, it would wake every wait); the queue says what came. */
static void clear_wake(thread_t *t) {
  uint64_t value;
  if (read(t->wake, &value, sizeof value) < 0) {}
}

static void handle_events(thread_t *t, struct epoll_event *events, int n) {
  for (int i = 0; i < n; i++) {
    conn_t *c = events[i].data.ptr;
    if (c == NULL) {
      clear_wake(t);
      continue;
    }
    if (c->state == C_CLOSED) continue;
    if (events[i].events & EPOLLOUT) conn_flush(t, c);
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_conn(t, c);
  }
}

static int64_t pending_replies(thread_t *t) {
  int64_t pending = 0;
  for (int gi = 0; gi < t->group_count; gi++)
    for (size_t i = 0; i < t->counts[gi]; i++) {
      conn_t *c = t->conns[gi][i];
      if (c->state == C_OPEN && c->in_flight > 0) pending += c->in_flight;
    }
  return pending;
}

/*
 * Sleeps until WAKE_LEAD_US before `due_us` (or an event), then spins what is left to the due time; a gap shorter
 * than the lead is slept whole (a thread that spun through every short gap would hold a core at high rates, which on
 * a 2-core machine starves the target it measures). How late a sleep that ran to its deadline woke is recorded as
 * the thread's wake-up lateness; a wake-up STALL_US or more late counts as time off its core.
 */
static int wait_events(thread_t *t, struct epoll_event *events, double due_us) {
  double start = now_us(), gap = due_us - start;
  if (gap <= 0) return epoll_wait(t->epoll, events, MAX_EVENTS, 0);
  double nap = gap > WAKE_LEAD_US ? gap - WAKE_LEAD_US : gap;
  if (nap > NAP_MAX_US) nap = NAP_MAX_US;
  int n = 0;
  if (t->timer_only) {
    double until = start + nap;
    struct timespec at = {.tv_sec = (time_t)(until / 1e6), .tv_nsec = (long)(fmod(until, 1e6) * 1000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
  } else {
    struct timespec timeout = {.tv_sec = (time_t)(nap / 1e6), .tv_nsec = (long)(fmod(nap, 1e6) * 1000)};
    n = epoll_pwait2(t->epoll, events, MAX_EVENTS, &timeout, NULL);
    if (n < 0 && errno == ENOSYS) n = epoll_wait(t->epoll, events, MAX_EVENTS, (int)ceil(nap / 1000)); /* before Linux 5.11: ms */
    if (n != 0) return n;
  }
  double woke = now_us(), late = woke - (start + nap);
  if (t->pacing && in_window(t, woke)) {
    hist_record(&t->wake_lateness, late);
    if (late >= STALL_US) t->stalled_us += late;
  }
  if (due_us - woke > WAKE_LEAD_US) return 0; /* a capped nap: not near the due time yet */
  while (now_us() < due_us)
    if (!t->timer_only && (n = epoll_wait(t->epoll, events, MAX_EVENTS, 0)) != 0) return n;
  return 0;
}

static void do_run(thread_t *t, long id, char *args) {
  int payload, warmup, measure, drain, groups, used = 0;
  if (sscanf(args, "%d %d %d %d %d%n", &payload, &warmup, &measure, &drain, &groups, &used) != 5 || payload < PAYLOAD_MIN || groups > MAX_GROUPS) {
    out_add(&t->out, "{\"type\":\"failed\",\"id\":%ld,\"error\":\"bad run request\"}", id);
    return reply(&t->out);
  }
  args += used;
  double start = now_us();
  t->window_from = start + warmup * 1000.0;
  t->window_to = t->window_from + measure * 1000.0;
  t->send_until = t->window_to;
  t->run_groups = groups > t->group_count ? groups : t->group_count;
  int has_open = 0, has_closed = 0;
  for (int gi = 0; gi < t->run_groups; gi++) {
    group_t *g = &t->groups[gi];
    memset(g, 0, offsetof(group_t, latency));
    hist_reset(&g->latency);
    hist_reset(&g->lateness);
    g->mode = 'i';
    if (gi < groups) {
      char mode;
      sscanf(args, " %c %lf%n", &mode, &g->param, &used);
      args += used;
      g->mode = mode;
    }
    g->next_due_us = start;
    g->rr = 0;
    g->slots = g->mode == 'c' ? ((size_t)g->param * 2 > 8 ? (size_t)g->param * 2 : 8) : 64;
    g->interval_us = g->mode == 'o' && g->param > 0 ? 1e6 / g->param : 1e300;
    if (t->counts[gi] == 0) continue;
    if (g->mode == 'o') has_open = 1;
    if (g->mode == 'c') has_closed = 1;
  }
  prepare_frame(t, (size_t)payload);
  for (int gi = 0; gi < t->group_count; gi++)
    for (size_t i = 0; i < t->counts[gi]; i++) {
      conn_t *c = t->conns[gi][i];
      c->in_flight = 0;
      c->last_seq = (int64_t)c->next_seq - 1;
      c->run_first_seq = c->next_seq;
    }
  for (int gi = 0; gi < t->run_groups; gi++) {
    group_t *g = &t->groups[gi];
    if (g->mode != 'c') continue;
    for (size_t i = 0; i < t->counts[gi]; i++)
      for (int w = 0; w < (int)g->param; w++) send_closed(t, g, t->conns[gi][i], start);
  }
  double open_rate = 0;
  for (int gi = 0; gi < t->run_groups; gi++)
    if (t->groups[gi].mode == 'o' && t->counts[gi] > 0) open_rate += t->groups[gi].param;
  t->fifo_granted = 0;
  t->pacing = has_open;
  t->timer_only = has_open && !has_closed;
  set_fifo(t, has_open && !has_closed && open_rate <= FIFO_MAX_RATE);
  hist_reset(&t->wake_lateness);
  t->stalled_us = 0;
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    double now = now_us();
    if (now >= t->send_until) break;
    if (has_open) send_due(t, now);
    if (t->timer_only) {
      /* Replies are read after the sends that came due, timed by their kernel receive timestamps. */
      int ready = epoll_wait(t->epoll, events, MAX_EVENTS, 0);
      if (ready > 0) handle_events(t, events, ready);
    }
    double wake = has_open ? next_due(t) : t->send_until;
    if (wake > t->send_until) wake = t->send_until;
    int n = wait_events(t, events, wake);
    if (n > 0) handle_events(t, events, n);
  }
  set_fifo(t, 0);
  t->pacing = t->timer_only = 0;
  double drain_until = t->send_until + drain * 1000.0;
  while (pending_replies(t) > 0 && now_us() < drain_until) {
    int n = wait_events(t, events, drain_until);
    if (n > 0) handle_events(t, events, n);
  }
  out_t *o = &t->out;
  out_add(o, "{\"type\":\"ran\",\"id\":%ld,\"groups\":[", id);
  for (int gi = 0; gi < t->run_groups; gi++) {
    group_t *g = &t->groups[gi];
    int64_t unanswered = 0;
    for (size_t i = 0; i < t->counts[gi]; i++)
      if (t->conns[gi][i]->in_flight > 0) unanswered += t->conns[gi][i]->in_flight;
    out_add(o, "%s{\"sent\":%.0f,\"echoed\":%.0f,\"echoedInWindow\":%.0f,\"errors\":{", gi ? "," : "", g->sent, g->echoed, g->echoed_in_window);
    for (int i = 0; i < g->error_kinds; i++) out_add(o, "%s\"%d\":%.0f", i ? "," : "", g->error_codes[i], g->error_counts[i]);
    out_add(o, "},\"outOfOrder\":%.0f,\"clientBehind\":%.0f,\"unanswered\":%lld,\"latency\":", g->out_of_order, g->client_behind, (long long)unanswered);
    out_hist(o, &g->latency);
    out_add(o, ",\"sendLateness\":");
    out_hist(o, &g->lateness);
    out_add(o, "}");
  }
  out_add(o, "],\"pollInterval\":");
  out_hist(o, &t->wake_lateness);
  out_add(o, ",\"stalledUs\":%.0f,\"scheduling\":\"%s\"}", t->stalled_us, t->fifo_granted ? "fifo" : "normal");
  reply(o);
}

/* Sends each connection a close frame (1000) and waits, up to CLOSE_TIMEOUT_US, for the server to close it. */
static void do_disconnect(thread_t *t, long id) {
  static const unsigned char close_frame[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8};
  size_t open_count = 0;
  for (int gi = 0; gi < t->group_count; gi++)
    for (size_t i = 0; i < t->counts[gi]; i++) {
      conn_t *c = t->conns[gi][i];
      if (c->state != C_OPEN) continue;
      conn_write(t, c, close_frame, sizeof close_frame);
      if (c->state == C_CLOSED) continue;
      c->state = C_CLOSING;
      open_count++;
    }
  double deadline = now_us() + CLOSE_TIMEOUT_US;
  struct epoll_event events[MAX_EVENTS];
  while (open_count > 0 && now_us() < deadline) {
    int n = epoll_wait(t->epoll, events, MAX_EVENTS, 50);
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (c == NULL) clear_wake(t);
      if (c == NULL || c->state != C_CLOSING) continue;
      if (events[i].events & EPOLLOUT) conn_flush(t, c);
      ssize_t got;
      while ((got = recv(c->fd, t->buf, READ_BUF, 0)) > 0) {}
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        c->state = C_CLOSED;
        epoll_ctl(t->epoll, EPOLL_CTL_DEL, c->fd, NULL);
        open_count--;
      }
    }
  }
  for (int gi = 0; gi < t->group_count; gi++) {
    for (size_t i = 0; i < t->counts[gi]; i++) {
      close(t->conns[gi][i]->fd);
      conn_free(t->conns[gi][i]);
    }
    t->counts[gi] = 0;
  }
  t->group_count = 0;
  out_add(&t->out, "{\"type\":\"disconnected\",\"id\":%ld}", id);
  reply(&t->out);
}

/* ---- threads and the command channel ---- */
static command_t *next_command(thread_t *t) {
  pthread_mutex_lock(&t->lock);
  command_t *cmd = t->head;
  if (cmd != NULL) {
    t->head = cmd->next;
    if (t->head == NULL) t->tail = NULL;
  }
  pthread_mutex_unlock(&t->lock);
  return cmd;
}

static void *thread_main(void *arg) {
  thread_t *t = arg;
  prctl(PR_SET_TIMERSLACK, 1UL); /* 1 ns: timed wake-ups are not deferred to batch them */
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    command_t *cmd;
    while ((cmd = next_command(t)) != NULL) {
      long id;
      int thread, used = 0;
      char verb[16];
      if (sscanf(cmd->line, "%ld %d %15s%n", &id, &thread, verb, &used) == 3) {
        char *args = cmd->line + used;
        if (strcmp(verb, "connect") == 0) do_connect(t, id, args);
        else if (strcmp(verb, "run") == 0) do_run(t, id, args);
        else if (strcmp(verb, "disconnect") == 0) do_disconnect(t, id);
        else {
          out_add(&t->out, "{\"type\":\"failed\",\"id\":%ld,\"error\":\"unknown verb\"}", id);
          reply(&t->out);
        }
      }
      free(cmd);
    }
    /* Between requests: answer pings and notice closes, and wake for the next command. */
    int n = epoll_wait(t->epoll, events, MAX_EVENTS, 1000);
    if (n > 0) handle_events(t, events, n);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int threads = 2;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "loadgen: --threads must be 1 to 64\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the process that drives it */
  signal(SIGPIPE, SIG_IGN);
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  thread_t *all = calloc((size_t)threads, sizeof *all);
  for (int i = 0; i < threads; i++) {
    thread_t *t = &all[i];
    t->index = i;
    t->epoll = epoll_create1(EPOLL_CLOEXEC);
    t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->buf = malloc(READ_BUF);
    pthread_mutex_init(&t->lock, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(t->epoll, EPOLL_CTL_ADD, t->wake, &ev);
    pthread_create(&t->tid, NULL, thread_main, t);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    long id;
    int thread;
    if (sscanf(line, "%ld %d", &id, &thread) != 2 || thread < 0 || thread >= threads) {
      fprintf(stderr, "loadgen: bad request line: %s", line);
      continue;
    }
    command_t *cmd = malloc(sizeof *cmd + (size_t)len + 1);
    cmd->next = NULL;
    memcpy(cmd->line, line, (size_t)len + 1);
    thread_t *t = &all[thread];
    pthread_mutex_lock(&t->lock);
    if (t->tail) t->tail->next = cmd;
    else t->head = cmd;
    t->tail = cmd;
    pthread_mutex_unlock(&t->lock);
    uint64_t one = 1;
    if (write(t->wake, &one, sizeof one) < 0) {}
  }
  return 0; /* stdin closed: the driver is gone */
}
