/*
 * Eclipse Paho C (MQTTAsync, libpaho-mqtt3a) in the broker benchmark: the
 * same phases as ours.rs and theirs.rs, measured the same way, in a process
 * of its own so that getrusage and the resident set belong to Paho alone.
 *
 *   paho_bench throughput|latency|idle key=value ...
 *
 * paho.rs compiles this file when a paho-c child first runs and passes the
 * broker port, the phase's figures and the benchmark's constants as
 * key=value arguments (see `run` in paho.rs). It prints one line of
 * key=value pairs, without the `BENCH ` prefix, with the keys and number
 * formats of measure.rs (throughput_line, percentiles, idle_line) plus a few
 * of its own. A QoS 1/2 loss or stall, or any client error, ends it with a
 * message on stderr and exit status 1.
 *
 * Settings, as for the other libraries where Paho has them: keep-alive 60 s,
 * clean session, no persistence, maxInflight = the benchmark's window (100),
 * maxBufferedMessages (Paho's queue of commands not yet written) = the
 * benchmark's channel (1,024, rumqttc's request channel).
 *
 * The publisher keeps at most `inflight` QoS 1/2 messages outstanding (from
 * MQTTAsync_sendMessage to the onSuccess callback, which Paho calls after
 * PUBACK or PUBCOMP) and waits for one to complete before the next
 * (window_waits counts those waits). It must not queue more: Paho's send
 * thread is woken when a command is queued, not when an acknowledgement
 * frees the inflight window, so publishes queued behind a full window wait
 * for its one-second timeout (tried: with 1,024 publishes queued behind the
 * window, QoS 1 and 2 ran at a fifth to a tenth of the rate). QoS 0
 * messages take no part in the window; for them the bound is the channel,
 * counted until Paho has written them (it calls onSuccess then).
 *
 * Paho has no TCP_NODELAY option and does not set it; the line
 * reports what its sockets have (tcp_nodelay=0|1). BENCH_PAHO_NODELAY=1 sets
 * it on Paho's sockets behind its back, for comparison only.
 *
 * MQTTAsync runs one send thread and one receive thread for all clients of
 * the process; messageArrived is called on the receive thread.
 */
#define _GNU_SOURCE
#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- arguments ---------------------------------------------------------- */

static int argc_g;
static char **argv_g;

static const char *arg(const char *key)
{
    size_t len = strlen(key);
    for (int i = 2; i < argc_g; i++)
        if (strncmp(argv_g[i], key, len) == 0 && argv_g[i][len] == '=')
            return argv_g[i] + len + 1;
    fprintf(stderr, "paho_bench: argument %s= is missing\n", key);
    exit(2);
}

static uint64_t num(const char *key)
{
    return strtoull(arg(key), NULL, 10);
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("paho_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- time, CPU, memory -------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct usage {
    double cpu_s;
    long maxrss_kib;
    /* Context switches, voluntary (waiting) and involuntary (preempted). */
    long ctxsw;
};

static struct usage usage(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct usage u = {
        (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
        ru.ru_maxrss,
        ru.ru_nvcsw + ru.ru_nivcsw,
    };
    return u;
}

/* The current resident set size in KiB, from /proc/self/statm as rss_kib. */
static uint64_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (!f || fscanf(f, "%llu %llu", &size, &resident) != 2)
        die("cannot read /proc/self/statm");
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* ---- blocking on Paho's callbacks --------------------------------------- */

/* One outstanding request (connect, subscribe, disconnect) and its outcome. */
struct waiter {
    sem_t done;
    int ok;
    int code;
};

static void on_ok(void *context, MQTTAsync_successData *response)
{
    (void)response;
    struct waiter *w = context;
    w->ok = 1;
    sem_post(&w->done);
}

static void on_fail(void *context, MQTTAsync_failureData *response)
{
    struct waiter *w = context;
    w->ok = 0;
    w->code = response ? response->code : -1;
    sem_post(&w->done);
}

static void wait_for(struct waiter *w, const char *what)
{
    while (sem_wait(&w->done) != 0 && errno == EINTR) {
    }
    if (!w->ok)
        die("%s failed (code %d)", what, w->code);
}

static void connection_lost(void *context, char *cause)
{
    (void)context;
    die("connection lost: %s", cause ? cause : "(no cause)");
}

/* ---- clients ------------------------------------------------------------ */

static char uri[64];
static uint64_t payload_len;

/* Creates a client and starts its connect; `w` learns the outcome. */
static MQTTAsync start_client(const char *role, MQTTAsync_messageArrived *arrived, int inflight,
                              int buffered, struct waiter *w)
{
    char id[64];
    snprintf(id, sizeof id, "paho-%d-%s", (int)getpid(), role);
    MQTTAsync handle;
    MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
    create.maxBufferedMessages = buffered;
    int rc = MQTTAsync_createWithOptions(&handle, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                         &create);
    if (rc != MQTTASYNC_SUCCESS)
        die("MQTTAsync_create: %d", rc);
    if (arrived &&
        (rc = MQTTAsync_setCallbacks(handle, NULL, connection_lost, arrived, NULL)) !=
            MQTTASYNC_SUCCESS)
        die("MQTTAsync_setCallbacks: %d", rc);
    w->ok = 0;
    sem_init(&w->done, 0, 0);
    MQTTAsync_connectOptions connect = MQTTAsync_connectOptions_initializer;
    connect.keepAliveInterval = 60;
    connect.cleansession = 1;
    connect.maxInflight = inflight;
    connect.onSuccess = on_ok;
    connect.onFailure = on_fail;
    connect.context = w;
    if ((rc = MQTTAsync_connect(handle, &connect)) != MQTTASYNC_SUCCESS)
        die("MQTTAsync_connect: %d", rc);
    return handle;
}

static MQTTAsync client(const char *role, MQTTAsync_messageArrived *arrived, int inflight,
                        int buffered)
{
    struct waiter w;
    MQTTAsync handle = start_client(role, arrived, inflight, buffered, &w);
    wait_for(&w, "connect");
    sem_destroy(&w.done);
    return handle;
}

static void subscribe(MQTTAsync handle, const char *topic, int qos)
{
    struct waiter w = {.ok = 0};
    sem_init(&w.done, 0, 0);
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    opts.onSuccess = on_ok;
    opts.onFailure = on_fail;
    opts.context = &w;
    int rc = MQTTAsync_subscribe(handle, topic, qos, &opts);
    if (rc != MQTTASYNC_SUCCESS)
        die("MQTTAsync_subscribe: %d", rc);
    wait_for(&w, "subscribe");
    sem_destroy(&w.done);
}

static void disconnect(MQTTAsync *handle)
{
    struct waiter w = {.ok = 0};
    sem_init(&w.done, 0, 0);
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
    opts.timeout = 1000;
    opts.onSuccess = on_ok;
    opts.onFailure = on_fail;
    opts.context = &w;
    if (MQTTAsync_disconnect(*handle, &opts) == MQTTASYNC_SUCCESS)
        wait_for(&w, "disconnect");
    sem_destroy(&w.done);
    MQTTAsync_destroy(handle);
}

/* A 64-byte payload carrying its sequence number (little-endian), as
 * measure.rs's payload. */
static void payload(unsigned char *p, uint64_t seq)
{
    memset(p, 0, payload_len);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(seq >> (8 * i));
}

static uint64_t seq_of(const void *p, int len)
{
    if (len < 8)
        return UINT64_MAX;
    const unsigned char *b = p;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq |= (uint64_t)b[i] << (8 * i);
    return seq;
}

/* TCP_NODELAY of this process's TCP sockets to the broker: 1 if all have it,
 * 0 if none, -1 if mixed. With `set`, turns it on for all of them first. */
static int nodelay(int port, int set)
{
    int seen = 0, on = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        die("cannot list /proc/self/fd");
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);
        int type = 0;
        socklen_t len = sizeof type;
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
            type != SOCK_STREAM || getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
            continue;
        int flag = 1;
        if (set)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, sizeof flag);
        len = sizeof flag;
        if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flag, &len) == 0) {
            seen++;
            on += flag != 0;
        }
    }
    closedir(dir);
    return on == 0 ? 0 : on == seen ? 1 : -1;
}

static int nodelay_report(int port)
{
    const char *force = getenv("BENCH_PAHO_NODELAY");
    return nodelay(port, force && strcmp(force, "1") == 0);
}

/* ---- the subscriber's tally (measure.rs's Tally and Seen) --------------- */

static uint64_t n_messages;
static uint64_t *bits;
static uint64_t duplicates, foreign;
static uint64_t count;   /* atomic: read by the main thread */
static uint64_t last_ns; /* atomic: the last arrival */

static void record(const void *data, int len)
{
    uint64_t seq = seq_of(data, len);
    if (seq < n_messages && (uint64_t)len == payload_len) {
        uint64_t bit = 1ull << (seq % 64);
        if (bits[seq / 64] & bit)
            duplicates++;
        bits[seq / 64] |= bit;
    } else {
        foreign++;
    }
    __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&last_ns, now_ns(), __ATOMIC_RELAXED);
}

static int arrived_tally(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
    (void)context;
    (void)topic_len;
    record(m->payload, m->payloadlen);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

/* ---- throughput --------------------------------------------------------- */

static pthread_mutex_t room_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t room = PTHREAD_COND_INITIALIZER;
/* Both atomic, sequentially consistent: the publisher sets `waiting` and
 * then reads `outstanding`, the callback decrements `outstanding` and then
 * reads `waiting`, so at least one of them sees the other's write and no
 * wake-up is lost. */
static uint64_t outstanding;
static int waiting;

/* A publish was written (QoS 0) or acknowledged (QoS 1/2): wake the
 * publisher if it waits for room in the window. */
static void on_sent(void *context, MQTTAsync_successData *response)
{
    (void)context;
    (void)response;
    __atomic_sub_fetch(&outstanding, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&waiting, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&room_lock);
        pthread_cond_signal(&room);
        pthread_mutex_unlock(&room_lock);
    }
}

static void on_send_failed(void *context, MQTTAsync_failureData *response)
{
    (void)context;
    die("publish failed (code %d)", response ? response->code : -1);
}

static void throughput(void)
{
    int port = (int)num("port");
    int qos = (int)num("qos");
    const char *tag = arg("tag");
    n_messages = num("n");
    bits = calloc((n_messages + 63) / 64, sizeof *bits);
    uint64_t quiet_ns = num("quiet_ms") * 1000000u;
    uint64_t stall_ns = num("stall_ms") * 1000000u;
    int inflight = (int)num("inflight");
    int channel = (int)num("channel");

    MQTTAsync sub = client("sub", arrived_tally, inflight, channel);
    MQTTAsync pub = client("pub", NULL, inflight, channel);
    subscribe(sub, tag, qos);
    int tcp_nodelay = nodelay_report(port);

    unsigned char *p = malloc(payload_len);
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = p;
    msg.payloadlen = (int)payload_len;
    msg.qos = qos;
    MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
    opts.onSuccess = on_sent;
    opts.onFailure = on_send_failed;
    uint64_t window = qos == 0 ? (uint64_t)channel : (uint64_t)inflight;
    uint64_t window_waits = 0;

    struct usage before = usage();
    uint64_t started = now_ns();
    for (uint64_t seq = 0; seq < n_messages; seq++) {
        if (__atomic_load_n(&outstanding, __ATOMIC_SEQ_CST) >= window) {
            window_waits++;
            pthread_mutex_lock(&room_lock);
            __atomic_store_n(&waiting, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&outstanding, __ATOMIC_SEQ_CST) >= window)
                pthread_cond_wait(&room, &room_lock);
            __atomic_store_n(&waiting, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&room_lock);
        }
        payload(p, seq);
        __atomic_add_fetch(&outstanding, 1, __ATOMIC_SEQ_CST);
        int rc = MQTTAsync_sendMessage(pub, tag, &msg, &opts);
        if (rc != MQTTASYNC_SUCCESS)
            die("MQTTAsync_sendMessage: %d", rc);
    }
    uint64_t published = now_ns() - started;

    /* measure.rs's watch: every message, or QoS 0 quiet, or a stall. */
    uint64_t last_count = 0, last_change = now_ns();
    for (;;) {
        uint64_t c = __atomic_load_n(&count, __ATOMIC_RELAXED);
        if (c >= n_messages)
            break;
        if (c != last_count) {
            last_count = c;
            last_change = now_ns();
        }
        uint64_t quiet = now_ns() - last_change;
        if (qos == 0 && quiet >= quiet_ns)
            break;
        if (qos > 0 && quiet >= stall_ns)
            die("QoS %d: stalled at %llu of %llu messages for %llu ms", qos,
                (unsigned long long)c, (unsigned long long)n_messages,
                (unsigned long long)(stall_ns / 1000000));
        sleep_ms(10);
    }
    /* The CPU time counted ends here, once the subscriber has everything. */
    struct usage after = usage();
    disconnect(&sub);

    uint64_t received = __atomic_load_n(&count, __ATOMIC_RELAXED);
    uint64_t unique = 0;
    for (uint64_t i = 0; i < (n_messages + 63) / 64; i++)
        unique += (uint64_t)__builtin_popcountll(bits[i]);
    if (qos > 0 && (received != n_messages || unique != n_messages || foreign != 0))
        die("QoS %d: sent %llu, received %llu (%llu distinct, %llu duplicates, %llu foreign)",
            qos, (unsigned long long)n_messages, (unsigned long long)received,
            (unsigned long long)unique, (unsigned long long)duplicates,
            (unsigned long long)foreign);
    uint64_t last = __atomic_load_n(&last_ns, __ATOMIC_RELAXED);
    double secs = last > started ? (double)(last - started) / 1e9 : 0.0;
    double cpu = after.cpu_s - before.cpu_s;
    printf("sent=%llu received=%llu duplicates=%llu lost=%llu secs=%.3f rate=%.0f cpu_s=%.3f "
           "cpu_us_per_msg=%.3f maxrss_kib=%ld ctxsw_per_msg=%.3f publish_loop_secs=%.3f "
           "window_waits=%llu tcp_nodelay=%d\n",
           (unsigned long long)n_messages, (unsigned long long)received,
           (unsigned long long)duplicates, (unsigned long long)(n_messages - unique), secs,
           (double)unique / secs, cpu, cpu * 1e6 / (double)n_messages, after.maxrss_kib,
           (double)(after.ctxsw - before.ctxsw) / (double)n_messages,
           (double)published / 1e9, (unsigned long long)window_waits, tcp_nodelay);
    fflush(stdout);
    disconnect(&pub);
    free(p);
    free(bits);
}

/* ---- latency ------------------------------------------------------------ */

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t got = PTHREAD_COND_INITIALIZER;
static uint64_t got_count, got_seq;

/* Hands each message's sequence number to the waiting main thread, as the
 * Rust clients hand messages over a channel. */
static int arrived_signal(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
    (void)context;
    (void)topic_len;
    uint64_t seq = seq_of(m->payload, m->payloadlen);
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    pthread_mutex_lock(&got_lock);
    got_seq = seq;
    got_count++;
    pthread_cond_signal(&got);
    pthread_mutex_unlock(&got_lock);
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void latency(void)
{
    int port = (int)num("port");
    const char *tag = arg("tag");
    uint64_t rounds = num("rounds"), warmup = num("warmup");
    int inflight = (int)num("inflight");
    int channel = (int)num("channel");

    MQTTAsync sub = client("sub", arrived_signal, inflight, channel);
    MQTTAsync pub = client("pub", NULL, inflight, channel);
    subscribe(sub, tag, 1);
    int tcp_nodelay = nodelay_report(port);

    unsigned char *p = malloc(payload_len);
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = p;
    msg.payloadlen = (int)payload_len;
    msg.qos = 1;
    uint64_t *samples = malloc(rounds * sizeof *samples);
    for (uint64_t round = 0; round < warmup + rounds; round++) {
        payload(p, round);
        uint64_t t = now_ns();
        int rc = MQTTAsync_sendMessage(pub, tag, &msg, NULL);
        if (rc != MQTTASYNC_SUCCESS)
            die("MQTTAsync_sendMessage: %d", rc);
        pthread_mutex_lock(&got_lock);
        while (got_count <= round)
            pthread_cond_wait(&got, &got_lock);
        uint64_t seq = got_seq;
        pthread_mutex_unlock(&got_lock);
        uint64_t rtt = now_ns() - t;
        if (seq != round)
            die("round %llu received message %llu", (unsigned long long)round,
                (unsigned long long)seq);
        if (round >= warmup)
            samples[round - warmup] = rtt;
    }
    disconnect(&sub);
    disconnect(&pub);
    /* measure.rs's percentiles. */
    qsort(samples, rounds, sizeof *samples, cmp_u64);
#define AT(pct) samples[rounds * (pct) / 100 < rounds ? rounds * (pct) / 100 : rounds - 1]
    printf("rounds=%llu p50_us=%.1f p99_us=%.1f max_us=%.1f tcp_nodelay=%d\n",
           (unsigned long long)rounds, (double)AT(50) / 1e3, (double)AT(99) / 1e3,
           (double)samples[rounds - 1] / 1e3, tcp_nodelay);
#undef AT
    free(samples);
    free(p);
}

/* ---- idle --------------------------------------------------------------- */

/* Connects clients [from, to) in batches of IDLE_BATCH started together.
 * One at a time takes about two seconds each: MQTTAsync's threads wait up to
 * a second at a time (the receive thread polling the sockets it already
 * has, the send thread on its condition variable), and idle connections
 * give them nothing to wake for. In batches, 1,100 take a few seconds. */
#define IDLE_BATCH 250
static void connect_idle(MQTTAsync *clients, uint64_t from, uint64_t to, int inflight,
                         int channel)
{
    struct waiter w[IDLE_BATCH];
    char role[32];
    for (uint64_t i = from; i < to; i += IDLE_BATCH) {
        uint64_t batch = to - i < IDLE_BATCH ? to - i : IDLE_BATCH;
        for (uint64_t j = 0; j < batch; j++) {
            snprintf(role, sizeof role, "idle-%llu", (unsigned long long)(i + j));
            clients[i + j] = start_client(role, NULL, inflight, channel, &w[j]);
        }
        for (uint64_t j = 0; j < batch; j++) {
            wait_for(&w[j], "connect");
            sem_destroy(&w[j].done);
        }
    }
}

static void idle(void)
{
    uint64_t warmup = num("idle_warmup"), connections = num("idle_connections");
    int inflight = (int)num("inflight");
    int channel = (int)num("channel");
    MQTTAsync *clients = calloc(warmup + connections, sizeof *clients);
    uint64_t t0 = now_ns();
    connect_idle(clients, 0, warmup, inflight, channel);
    sleep_ms(500);
    uint64_t before = rss_kib();
    connect_idle(clients, warmup, warmup + connections, inflight, channel);
    uint64_t connect_ns = now_ns() - t0 - 500000000u;
    sleep_ms(1000);
    uint64_t after = rss_kib();
    /* measure.rs's idle_line. */
    printf("connections=%llu rss_before_kib=%llu rss_after_kib=%llu kib_per_conn=%.2f "
           "connect_secs=%.3f\n",
           (unsigned long long)connections, (unsigned long long)before,
           (unsigned long long)after,
           (double)(after > before ? after - before : 0) / (double)connections,
           (double)connect_ns / 1e9);
    fflush(stdout);
    for (uint64_t i = 0; i < warmup + connections; i++)
        disconnect(&clients[i]);
    free(clients);
}

int main(int argc, char **argv)
{
    argc_g = argc;
    argv_g = argv;
    if (argc < 2)
        die("usage: paho_bench throughput|latency|idle key=value ...");
    /* 1,100 connections need more descriptors than the usual soft limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", (int)num("port"));
    payload_len = num("payload");
    if (payload_len < 8)
        die("payload must hold an 8-byte sequence number");
    if (strcmp(argv[1], "throughput") == 0)
        throughput();
    else if (strcmp(argv[1], "latency") == 0)
        latency();
    else if (strcmp(argv[1], "idle") == 0)
        idle();
    else
        die("unknown phase %s", argv[1]);
    return 0;
}
