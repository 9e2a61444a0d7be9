/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mvm: the x86 instruction decoder for MMIO emulation and instruction skips.
 *
 * Pure code: it includes nothing but <linux/types.h>-level types and the
 * uapi header, so selftests/unit builds it on the host (with a shim that
 * supplies u8 ... u64 and bool) and tests it without a kernel.
 *
 * Only the instructions a guest uses on MMIO are decoded, and of those only
 * what emulation needs: the length, the direction, the operand sizes and the
 * register or immediate operand.  The memory address itself comes from the
 * hardware exit (the faulting guest-physical address), never from decoding
 * ModRM, so a guest cannot point the emulator at memory it could not reach.
 */
#ifndef MVM_DECODE_H
#define MVM_DECODE_H

#include <linux/types.h>

#include <linux/mvm.h>

/* MVM_GPR_*: GPR numbers, as ModRM and REX encode them. */
#include "regs.h"

/* The longest x86 instruction (SDM vol. 2, 2.3.11). */
#define MVM_INSN_MAX		15

/* mvm_insn.op */
#define MVM_INSN_LOAD		1	/* memory to register */
#define MVM_INSN_STORE		2	/* register or immediate to memory */

/*
 * Segment registers, numbered as the sreg field of MOV Sreg encodes them
 * (SDM vol. 2, appendix B) and as the SEG field of the IOIO intercept's
 * EXITINFO1 does (APM vol. 2, 15.10.2).
 */
#define MVM_SEG_NONE		(-1)
#define MVM_SEG_ES		0
#define MVM_SEG_CS		1
#define MVM_SEG_SS		2
#define MVM_SEG_DS		3
#define MVM_SEG_FS		4
#define MVM_SEG_GS		5

/* mvm_insn.rep: the group 1 repeat prefix in effect (SDM vol. 2, 2.1.1). */
#define MVM_REP_NONE		0
#define MVM_REP_E		1	/* F3: REP, REPE */
#define MVM_REP_NE		2	/* F2: REPNE */

/**
 * struct mvm_insn - one decoded instruction
 * @len:	bytes in all: prefixes, opcode, ModRM, SIB, displacement,
 *		immediate; at most MVM_INSN_MAX.  RIP + @len is the next RIP.
 * @prefix_len:	bytes of legacy prefixes and REX before the opcode
 * @op:		MVM_INSN_LOAD or MVM_INSN_STORE
 * @size:	bytes of the memory operand: 1, 2, 4 or 8
 * @dst_size:	loads: bytes of the register written (MOVZX and MOVSX
 *		widen @size to it); stores: equal to @size
 * @reg:	the register operand, 0 (rAX) to 15 (r15); with @high8 the
 *		register whose bits 15:8 are meant (AH is 0, CH 1, DH 2,
 *		BH 3).  For the moffs forms and STOS, 0 (rAX).
 * @rex:	the REX prefix in effect, or 0 (64-bit mode only)
 * @op_size:	operand-size attribute: 2, 4 or 8 (SDM vol. 1, 3.6)
 * @addr_size:	address-size attribute: 2, 4 or 8; also the width of rSI,
 *		rDI and rCX for string instructions
 * @rep:	MVM_REP_*: an F3 or F2 prefix (the last one wins)
 * @high8:	@reg names AH, CH, DH or BH (a byte register 4-7 without REX)
 * @sign:	a load sign-extends @size to @dst_size (MOVSX, MOVSXD)
 * @has_imm:	a store writes @imm rather than @reg
 * @string:	STOS: the instruction also steps rDI (and rCX with @rep)
 * @rip_relative: the ModRM operand is RIP- (or EIP-) relative
 * @seg:	the segment-override prefix in effect (the last one wins), as
 *		MVM_SEG_*, or MVM_SEG_NONE.  Recorded as encoded even where it
 *		has no effect: STOS always writes ES, and 64-bit mode ignores
 *		the ES, CS, SS and DS bases.
 * @imm:	the immediate, sign-extended to 64 bits; a store writes its
 *		low @size bytes
 * @disp:	the ModRM displacement, sign-extended, or the moffs offset,
 *		zero-extended.  For information only: emulation uses the
 *		address the hardware reported.
 */
struct mvm_insn {
	u8 len;
	u8 prefix_len;
	u8 op;
	u8 size;
	u8 dst_size;
	u8 reg;
	u8 rex;
	u8 op_size;
	u8 addr_size;
	u8 rep;
	bool high8;
	bool sign;
	bool has_imm;
	bool string;
	bool rip_relative;
	int seg;
	u64 imm;
	u64 disp;
};

/* What an MVM_EXIT_IO or MVM_EXIT_MMIO read completes into. */
struct mvm_pending_read {
	bool active;
	u8 size;		/* 1, 2, 4 or 8 */
	u8 reg;			/* GPR number; 0 (RAX) for port I/O */
	bool high8;		/* AH, CH, DH or BH */
	bool sign;		/* sign-extend (MOVSX) instead of zero-extend */
	u8 dst_size;		/* register width written */
	u64 next_rip;		/* RIP after the instruction */
};

int mvm_decode(const u8 *bytes, unsigned int n, unsigned int mode,
	       struct mvm_insn *insn);
int mvm_decode_prefixes(const u8 *bytes, unsigned int n, unsigned int mode,
			struct mvm_insn *insn);
int mvm_decode_skip(const u8 *bytes, unsigned int n, unsigned int mode,
		    const u8 *op, unsigned int oplen);

u64 mvm_gpr_read(const struct mvm_regs *regs, unsigned int reg,
		 unsigned int size, bool high8);
void mvm_gpr_write(struct mvm_regs *regs, unsigned int reg,
		   unsigned int size, bool high8, u64 val);
void mvm_regs_from_gprs(struct mvm_regs *regs, const u64 *gprs);
void mvm_regs_to_gprs(u64 *gprs, const struct mvm_regs *regs);
void mvm_complete_read(struct mvm_regs *regs,
		       const struct mvm_pending_read *p, u64 data);

#endif /* MVM_DECODE_H */
