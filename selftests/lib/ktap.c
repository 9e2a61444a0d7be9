// SPDX-License-Identifier: GPL-2.0
/* The KTAP harness: see ktap.h. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

#define KTAP_REASON_LEN 256

/* Shared with the child running a case, so a SKIP can say why. */
static char *ktap_reason;

void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void ktap_set_skip_reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ktap_reason, KTAP_REASON_LEN, fmt, ap);
	va_end(ap);
}

static int ktap_run_one(const struct ktap_case *c)
{
	unsigned int timeout = c->timeout_s ? c->timeout_s : 60;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ktap_diag("fork: %s", strerror(errno));
		return KTAP_FAIL;
	}
	if (!pid) {
		alarm(timeout);
		exit(c->fn());
	}
	if (waitpid(pid, &status, 0) != pid) {
		ktap_diag("waitpid: %s", strerror(errno));
		return KTAP_FAIL;
	}
	if (WIFSIGNALED(status)) {
		ktap_diag("%s: killed by signal %d%s", c->name,
			  WTERMSIG(status),
			  WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
		return KTAP_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KTAP_PASS:
	case KTAP_SKIP:
		return WEXITSTATUS(status);
	default:
		return KTAP_FAIL;
	}
}

int ktap_run(const struct ktap_case *cases, unsigned int n)
{
	unsigned int i, pass = 0, fail = 0, skip = 0;

	ktap_reason = mmap(NULL, KTAP_REASON_LEN, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ktap_reason == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		int r;

		ktap_reason[0] = '\0';
		r = ktap_run_one(&cases[i]);
		if (r == KTAP_SKIP) {
			skip++;
			printf("ok %u %s # SKIP %s\n", i + 1, cases[i].name,
			       ktap_reason);
		} else if (r == KTAP_PASS) {
			pass++;
			printf("ok %u %s\n", i + 1, cases[i].name);
		} else {
			fail++;
			printf("not ok %u %s\n", i + 1, cases[i].name);
		}
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       pass, fail, skip);
	return fail ? 1 : 0;
}
