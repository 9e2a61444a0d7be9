// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mvm_util.h"

int mvm_open_dev(void)
{
	return open(MVM_DEV, O_RDWR | O_CLOEXEC);
}

int open_ioctl_close(const char *path, unsigned long req, unsigned long arg)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), r, e;

	if (fd < 0)
		return -1;
	r = ioctl(fd, req, arg);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int mvm_create_vm(void)
{
	return open_ioctl_close(MVM_DEV, MVM_CREATE_VM, 0);
}

const char *mvm_ko_path(void)
{
	const char *p = getenv("MVM_KO");

	return p ? p : MVM_KO_DEFAULT;
}

int mvm_load(void)
{
	int fd = open(mvm_ko_path(), O_RDONLY | O_CLOEXEC), r, e;
	const char *params;

	if (fd < 0)
		return -1;
	/*
	 * The parameters /init loaded it with (mvm.NAME=VALUE on the
	 * kernel command line), so that a reload keeps them.
	 */
	params = getenv("MVM_PARAMS");
	r = syscall(SYS_finit_module, fd, params ? params : "", 0);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int mvm_unload(void)
{
	return syscall(SYS_delete_module, "mvm", O_NONBLOCK);
}

int mvm_loaded(void)
{
	struct stat st;

	return !stat("/sys/module/mvm", &st);
}

long read_long_file(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}
