/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the mvm selftests. */
#ifndef MVM_UTIL_H
#define MVM_UTIL_H

#include <linux/mvm.h>

#define MVM_DEV		"/dev/mvm"
/* Where the test VM's initramfs keeps the module (override: $MVM_KO). */
#define MVM_KO_DEFAULT	"/lib/mvm/mvm.ko"

/* open(/dev/mvm); -1 with errno on failure. */
int mvm_open_dev(void);
/* open(path), one ioctl, close; the ioctl's result, errno kept. */
int open_ioctl_close(const char *path, unsigned long req, unsigned long arg);
/* MVM_CREATE_VM on a fresh /dev/mvm fd, which is closed again. */
int mvm_create_vm(void);
const char *mvm_ko_path(void);
/* finit_module / delete_module of mvm; 0 or -1 with errno. */
int mvm_load(void);
int mvm_unload(void);
/* Is the module loaded?  Reads /sys/module. */
int mvm_loaded(void);
/* The number a sysfs or proc file holds, or -1. */
long read_long_file(const char *path);

#endif /* MVM_UTIL_H */
