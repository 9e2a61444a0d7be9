// SPDX-License-Identifier: GPL-2.0
/*
 * mvm launcher: `mvm stat`, the exit counters of running VMs, in the
 * habit of kvm_stat.  The module keeps them in debugfs (api.rst,
 * "Counters"): mvm/<pid>-<fd>/<counter> holds a VM's sum.  Each refresh
 * reads every VM's files afresh, so VMs that start or end between two
 * samples simply join or leave the sums.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#define STAT_DIR	"/sys/kernel/debug/mvm"
#define MAX_COUNTERS	64
#define NAME_MAX_LEN	48

struct counter {
	char name[NAME_MAX_LEN];
	uint64_t total;
	uint64_t prev;
};

struct sample {
	struct counter c[MAX_COUNTERS];
	unsigned int n;
	unsigned int vms;
};

static volatile sig_atomic_t stat_stop;

static void stat_on_signal(int sig)
{
	(void)sig;
	stat_stop = 1;
}

static struct counter *find_counter(struct sample *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	if (s->n == MAX_COUNTERS || strlen(name) >= NAME_MAX_LEN)
		return NULL;
	snprintf(s->c[s->n].name, NAME_MAX_LEN, "%s", name);
	s->c[s->n].total = 0;
	s->c[s->n].prev = 0;
	return &s->c[s->n++];
}

/* Add the counter files of one VM's directory to @s. */
static void read_vm(struct sample *s, const char *dir)
{
	char path[1024], buf[32];
	struct dirent *e;
	struct counter *c;
	unsigned long long v;
	FILE *f;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;	/* the VM ended since readdir() */
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "vcpu", 4))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path))
			continue;
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%llu", &v) == 1) {
			c = find_counter(s, e->d_name);
			if (c)
				c->total += v;
		}
		fclose(f);
	}
	closedir(d);
	s->vms++;
}

/* Zero the totals, keep the names; sum the VMs of @pid (0: all). */
static int read_sample(struct sample *s, const char *root, long pid)
{
	char path[512];
	struct dirent *e;
	unsigned int i;
	long vpid;
	int fd;
	DIR *d;

	for (i = 0; i < s->n; i++)
		s->c[i].total = 0;
	s->vms = 0;
	d = opendir(root);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, "%ld-%d", &vpid, &fd) != 2)
			continue;
		if (pid && vpid != pid)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", root, e->d_name) <
		    (int)sizeof(path))
			read_vm(s, path);
	}
	closedir(d);
	return 0;
}

static int by_total(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void print_sample(struct sample *s, double secs, long pid)
{
	struct counter sorted[MAX_COUNTERS];
	unsigned int i;

	if (pid)
		printf("mvm stat: %u VM%s of pid %ld\n", s->vms,
		       s->vms == 1 ? "" : "s", pid);
	else
		printf("mvm stat: %u VM%s\n", s->vms, s->vms == 1 ? "" : "s");
	printf("%-24s %16s %12s\n", "Counter", "Total", "Per second");
	memcpy(sorted, s->c, s->n * sizeof(s->c[0]));
	qsort(sorted, s->n, sizeof(sorted[0]), by_total);
	for (i = 0; i < s->n; i++) {
		/* A VM that ended takes its counts along: no negative rate. */
		uint64_t d = sorted[i].total > sorted[i].prev ?
			     sorted[i].total - sorted[i].prev : 0;

		printf("%-24s %16" PRIu64 " %12.0f\n", sorted[i].name,
		       sorted[i].total, secs > 0 ? (double)d / secs : 0.0);
	}
	fflush(stdout);
}

static void keep_prev(struct sample *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		s->c[i].prev = s->c[i].total;
}

static void sleep_s(double secs)
{
	struct timespec ts = { (time_t)secs,
			       (long)((secs - (time_t)secs) * 1e9) };

	while (nanosleep(&ts, &ts) && !stat_stop)
		;
}

static void stat_usage(FILE *f)
{
	fputs("usage: mvm stat [-1] [-p PID] [-d SECONDS] [--dir DIR]\n"
	      "\n"
	      "Show the exit counters of running mvm VMs, summed over their\n"
	      "vCPUs and over the VMs shown, with the change per second, and\n"
	      "refresh the table until Ctrl-C.  The counters come from debugfs\n"
	      "(" STAT_DIR "/<pid>-<fd>/), which only root can read.\n"
	      "\n"
	      "Options:\n"
	      "  -1, --once          print one sample and exit, for scripts: the\n"
	      "                      totals, and the rate over the delay\n"
	      "  -p, --pid PID       only the VMs that process PID created\n"
	      "  -d, --delay SECONDS between refreshes; default 3 (--once: 0.25)\n"
	      "      --dir DIR       the counters' directory; default " STAT_DIR "\n"
	      "  -h, --help          print this text\n"
	      "\n"
	      "Exit status: 0, 1 when the counters cannot be read (no debugfs\n"
	      "or no mvm module), 2 for a bad command line.\n", f);
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ "pid", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sample s;
	const char *root = STAT_DIR;
	double delay = -1;
	bool once = false, tty = isatty(STDOUT_FILENO);
	struct sigaction sa;
	long pid = 0;
	char *end;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:1p:d:h", opts, NULL)) != -1) {
		switch (c) {
		case '1':
			once = true;
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || pid <= 0) {
				fprintf(stderr, "mvm: stat: bad pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			errno = 0;
			delay = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(delay > 0) ||
			    delay > 3600) {
				fprintf(stderr, "mvm: stat: bad delay '%s' (seconds, above 0)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'D':
			root = optarg;
			break;
		case 'h':
			stat_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mvm: stat: option '%s' needs an argument; see 'mvm stat --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mvm: stat: unknown option '%s'; see 'mvm stat --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mvm: stat: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (delay < 0)
		delay = once ? 0.25 : 3;

	if (read_sample(&s, root, pid)) {
		fprintf(stderr, "mvm: stat: cannot read %s: %s (is debugfs mounted, mvm loaded, and are you root?)\n",
			root, strerror(errno));
		return EXIT_ERROR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stat_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		keep_prev(&s);
		sleep_s(delay);
		if (stat_stop)
			break;
		if (read_sample(&s, root, pid)) {
			fprintf(stderr, "mvm: stat: cannot read %s: %s\n", root,
				strerror(errno));
			return EXIT_ERROR;
		}
		/* The screen cleared, as kvm_stat does, only on a terminal. */
		if (!once && tty)
			fputs("\033[H\033[J", stdout);
		print_sample(&s, delay, pid);
		if (once)
			break;
		if (!tty)
			putchar('\n');
	}
	return 0;
}
