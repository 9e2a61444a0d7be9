// SPDX-License-Identifier: GPL-2.0
/*
 * The launcher's command line: what it prints and its exit statuses.
 * Runs /usr/bin/mvm (override: $MVM_LAUNCHER).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

static const char *launcher(void)
{
	const char *p = getenv("MVM_LAUNCHER");

	return p ? p : "/usr/bin/mvm";
}

/* Runs the launcher with ARGS; returns its exit status, output in @out. */
static int run(const char *args, char *out, size_t len)
{
	char cmd[256];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", launcher(), args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n + 1 < len && fgets(out + n, len - n, p))
		n += strlen(out + n);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int info(void)
{
	char out[1024];

	CHECK(run("info", out, sizeof(out)) == 0, "info: %s", out);
	CHECK(strstr(out, "API version 1\n"), "no API version in: %s", out);
	CHECK(strstr(out, "backend: AMD SVM") || strstr(out, "backend: Intel VMX"),
	      "no backend in: %s", out);
	CHECK(strstr(out, "switched on for a test VM"), "no VM in: %s", out);
	return KTAP_PASS;
}

static int help(void)
{
	char out[2048];

	CHECK(run("help", out, sizeof(out)) == 0, "help");
	CHECK(strstr(out, "usage: mvm COMMAND"), "%s", out);
	CHECK(run("--help", out, sizeof(out)) == 0, "--help");
	return KTAP_PASS;
}

static int bad_command_lines_exit_2(void)
{
	char out[2048];

	CHECK(run("", out, sizeof(out)) == 2, "no command");
	CHECK(run("frobnicate", out, sizeof(out)) == 2, "unknown command");
	CHECK(strstr(out, "unknown command 'frobnicate'"), "%s", out);
	CHECK(run("info extra", out, sizeof(out)) == 2, "extra argument");
	return KTAP_PASS;
}

static int no_module_exit_3(void)
{
	char out[1024];
	int st;

	CHECK(!mvm_unload(), "unload mvm");
	st = run("info", out, sizeof(out));
	CHECK(!mvm_load(), "reload mvm");
	CHECK(st == 3, "exit status %d: %s", st, out);
	CHECK(strstr(out, "is the mvm module loaded?"), "%s", out);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(info),
	KTAP_CASE(help),
	KTAP_CASE(bad_command_lines_exit_2),
	KTAP_CASE(no_module_exit_3),
};

KTAP_MAIN(cases)
