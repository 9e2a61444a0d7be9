// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: mvm cannot be unloaded while anything holds it, and
 * unloads and reloads cleanly otherwise.  Leaves the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ktap.h"
#include "lib/mvm_util.h"

/* Every case starts and ends with mvm loaded. */
static int ensure_loaded(void)
{
	if (!mvm_loaded() && mvm_load())
		return -1;
	return 0;
}

static int busy_while_dev_open(void)
{
	int fd;

	CHECK(!ensure_loaded(), "load");
	fd = mvm_open_dev();
	CHECK(fd >= 0, "open");
	CHECK_ERRNO(mvm_unload(), EWOULDBLOCK);
	CHECK(mvm_loaded(), "module went away under an open fd");
	CHECK(ioctl(fd, MVM_GET_API_VERSION, 0) == MVM_API_VERSION, "ioctl");
	close(fd);
	return KTAP_PASS;
}

static int busy_while_vm_exists(void)
{
	int vm;

	CHECK(!ensure_loaded(), "load");
	vm = mvm_create_vm();	/* the /dev/mvm fd is closed again */
	CHECK(vm >= 0, "create VM");
	CHECK_ERRNO(mvm_unload(), EWOULDBLOCK);
	CHECK(mvm_loaded(), "module went away under a VM");
	close(vm);
	return KTAP_PASS;
}

static int unload_removes_device(void)
{
	struct stat st;

	CHECK(!ensure_loaded(), "load");
	CHECK(!mvm_unload(), "unload");
	CHECK(!mvm_loaded(), "still in /sys/module");
	CHECK(stat(MVM_DEV, &st) && errno == ENOENT, MVM_DEV " still there");
	CHECK(!mvm_load(), "load again");
	CHECK(!stat(MVM_DEV, &st), MVM_DEV " missing after reload");
	return KTAP_PASS;
}

static int load_twice_eexist(void)
{
	CHECK(!ensure_loaded(), "load");
	CHECK_ERRNO(mvm_load(), EEXIST);
	return KTAP_PASS;
}

static int reload_loop(void)
{
	int i;

	for (i = 0; i < 25; i++) {
		int vm;

		CHECK(!ensure_loaded(), "load #%d", i);
		vm = mvm_create_vm();
		CHECK(vm >= 0, "create VM #%d", i);
		close(vm);
		CHECK(!mvm_unload(), "unload #%d", i);
	}
	CHECK(!mvm_load(), "final load");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(busy_while_dev_open),
	KTAP_CASE(busy_while_vm_exists),
	KTAP_CASE(unload_removes_device),
	KTAP_CASE(load_twice_eexist),
	KTAP_CASE_T(reload_loop, 300),
};

KTAP_MAIN(cases)
