/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel types module/emul/decode.c uses, for building it on the host.
 * The Makefile's unit target passes it with -include, ahead of decode.c's
 * own includes, which then resolve to the uapi headers.
 */
#ifndef MVM_UNIT_SHIM_H
#define MVM_UNIT_SHIM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#endif /* MVM_UNIT_SHIM_H */
