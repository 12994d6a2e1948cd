/* The floor for `make bench`: the least a CPU-usage sampler can cost on this machine. A
 * periodic timerfd every INTERVAL seconds, one pread of /proc/stat on a descriptor kept
 * open, the aggregate "cpu" line parsed and the busy share since the last read computed.
 * Nothing else: no threads, no allocation in the loop, no output until the end.
 *
 * Built with -DLIBPROC2 (and -lproc2) it is the least the design's reader can cost: the
 * same loop with the read and parse left to one procps_stat_select of the eight counters
 * the agent asks for, which is what the agent's tick does to /proc/stat.
 *
 *   floor INTERVAL_SECONDS DURATION_SECONDS
 *
 * Prints "ticks N last_usage_percent U" on exit (after DURATION_SECONDS or on SIGTERM).
 * The bench runs it beside the agent and prints the agent's CPU and wake-ups against it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void stop(int signal_number) { (void)signal_number; stopping = 1; }

/* busy and total jiffies from user nice system idle iowait irq softirq steal */
static void busy_and_total(const uint64_t field[8], uint64_t *busy, uint64_t *total) {
    uint64_t idle = field[3] + field[4];
    *total = 0;
    for (int i = 0; i < 8; i++) *total += field[i];
    *busy = *total - idle;
}

#ifdef LIBPROC2
#include <libproc2/stat.h>

static struct stat_info *source;

/* procps_stat_new returns -errno; perror in main reports errno */
static int open_source(void) {
    int code = procps_stat_new(&source);
    if (code < 0) errno = -code;
    return code < 0 ? -1 : 0;
}

static int read_cpu(uint64_t *busy, uint64_t *total) {
    enum stat_item items[8] = {STAT_TIC_USER, STAT_TIC_NICE, STAT_TIC_SYSTEM, STAT_TIC_IDLE,
                               STAT_TIC_IOWAIT, STAT_TIC_IRQ, STAT_TIC_SOFTIRQ, STAT_TIC_STOLEN};
    struct stat_stack *stack = procps_stat_select(source, items, 8);
    if (!stack) return -1;
    uint64_t field[8];
    for (int i = 0; i < 8; i++) field[i] = stack->head[i].result.ull_int;
    busy_and_total(field, busy, total);
    return 0;
}
#else
static int source = -1;

static int open_source(void) { return (source = open("/proc/stat", O_RDONLY | O_CLOEXEC)) < 0 ? -1 : 0; }

/* the first line only: "cpu  user nice system idle iowait irq softirq steal ..." */
static int read_cpu(uint64_t *busy, uint64_t *total) {
    char text[512];
    ssize_t count = pread(source, text, sizeof text - 1, 0);
    if (count <= 4 || strncmp(text, "cpu ", 4) != 0) return -1;
    text[count] = '\0';
    uint64_t field[8] = {0};
    char *cursor = text + 4;
    for (int i = 0; i < 8; i++) field[i] = strtoull(cursor, &cursor, 10);
    busy_and_total(field, busy, total);
    return 0;
}
#endif

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s INTERVAL_SECONDS DURATION_SECONDS\n", argv[0]);
        return 2;
    }
    double interval = atof(argv[1]), duration = atof(argv[2]);
    if (interval <= 0 || duration <= 0) {
        fprintf(stderr, "floor: interval and duration must be positive\n");
        return 2;
    }
    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    int timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (open_source() < 0 || timer_fd < 0) {
        perror("floor: /proc/stat or timerfd");
        return 1;
    }
    struct timespec period = {.tv_sec = (time_t)interval,
                              .tv_nsec = (long)((interval - (time_t)interval) * 1e9)};
    struct itimerspec schedule = {.it_interval = period, .it_value = period};
    timerfd_settime(timer_fd, 0, &schedule, NULL);

    uint64_t busy = 0, total = 0, ticks = 0, limit = (uint64_t)(duration / interval);
    double usage = -1;
    read_cpu(&busy, &total);
    while (!stopping && ticks < limit) {
        uint64_t expirations;
        if (read(timer_fd, &expirations, sizeof expirations) != sizeof expirations) {
            if (errno == EINTR) continue;
            perror("floor: timerfd");
            return 1;
        }
        uint64_t now_busy, now_total;
        if (read_cpu(&now_busy, &now_total) == 0 && now_total > total) {
            usage = 100.0 * (double)(now_busy - busy) / (double)(now_total - total);
            busy = now_busy;
            total = now_total;
        }
        ticks++;
    }
    printf("ticks %" PRIu64 " last_usage_percent %.1f\n", ticks, usage);
    return 0;
}
