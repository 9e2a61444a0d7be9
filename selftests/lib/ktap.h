/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small KTAP harness for the mvm selftests.
 *
 * Each case runs in a child process with a time limit, so a crash or a hang
 * in one case is reported as "not ok" and the others still run.  A case
 * returns KTAP_PASS, or fails through CHECK(), or skips through SKIP() with
 * the reason, which shows as "# SKIP reason" in the KTAP line.
 */
#ifndef MVM_KTAP_H
#define MVM_KTAP_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { KTAP_PASS, KTAP_FAIL, KTAP_SKIP };

struct ktap_case {
	const char *name;
	int (*fn)(void);
	unsigned int timeout_s;	/* 0: the default, 60 s */
};

void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ktap_set_skip_reason(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Runs every case, prints the KTAP document; returns the exit status. */
int ktap_run(const struct ktap_case *cases, unsigned int n);

/* The main() of a selftest: runs its table of cases. */
#define KTAP_MAIN(cases)						\
	int main(void)							\
	{								\
		return ktap_run(cases, sizeof(cases) / sizeof(cases[0])); \
	}

#define KTAP_CASE(fn)		{ #fn, fn, 0 }
#define KTAP_CASE_T(fn, t)	{ #fn, fn, t }

/* Fails the case, saying where, what and errno. */
#define CHECK(cond, fmt, ...)						\
	do {								\
		if (!(cond)) {						\
			int __e = errno;				\
			ktap_diag("%s:%d: CHECK(%s) failed: " fmt	\
				  " (errno %d: %s)", __FILE__, __LINE__, \
				  #cond, ##__VA_ARGS__, __e,		\
				  strerror(__e));			\
			return KTAP_FAIL;				\
		}							\
	} while (0)

/* A call that must fail with exactly this errno. */
#define CHECK_ERRNO(call, err)						\
	do {								\
		long __r;						\
		errno = 0;						\
		__r = (long)(call);					\
		CHECK(__r == -1 && errno == (err),			\
		      "%s returned %ld, want -1 with %s", #call, __r,	\
		      strerror(err));					\
	} while (0)

#define SKIP(fmt, ...)							\
	do {								\
		ktap_set_skip_reason(fmt, ##__VA_ARGS__);		\
		return KTAP_SKIP;					\
	} while (0)

#endif /* MVM_KTAP_H */
