// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 instruction decoder for MMIO emulation: see decode.h.
 *
 * The bytes come from guest memory and are hostile: every read is checked
 * against both the buffer and the 15-byte limit, and every loop is bounded
 * by them.  The format is that of SDM vol. 2, chapter 2: legacy prefixes,
 * REX (64-bit mode), opcode, ModRM, SIB, displacement, immediate.
 */
#include <linux/errno.h>
#include <linux/stddef.h>
#include <linux/types.h>

#include "decode.h"

/* Decoding state: the bytes and how far into them we are. */
struct mvm_cursor {
	const u8 *bytes;
	unsigned int n;		/* usable bytes: min(buffer, MVM_INSN_MAX) */
	unsigned int pos;
};

/* REX bits (SDM vol. 2, 2.2.1.2). */
#define REX_W	0x08
#define REX_R	0x04
#define REX_B	0x01

/* ModRM fields (SDM vol. 2, 2.1.5). */
#define MODRM_MOD(m)	((m) >> 6)
#define MODRM_REG(m)	(((m) >> 3) & 7)
#define MODRM_RM(m)	((m) & 7)
#define SIB_BASE(s)	((s) & 7)

static u64 mvm_size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 mvm_sign_extend(u64 val, unsigned int size)
{
	u64 mask = mvm_size_mask(size);

	val &= mask;
	if (size < 8 && (val >> (size * 8 - 1)) & 1)
		val |= ~mask;
	return val;
}

/* Takes @size little-endian bytes; false if the instruction ends first. */
static bool mvm_take(struct mvm_cursor *c, unsigned int size, u64 *val)
{
	unsigned int i;

	if (size > c->n || c->pos > c->n - size)
		return false;
	*val = 0;
	for (i = 0; i < size; i++)
		*val |= (u64)c->bytes[c->pos + i] << (i * 8);
	c->pos += size;
	return true;
}

static bool mvm_take_u8(struct mvm_cursor *c, u8 *val)
{
	u64 v;

	if (!mvm_take(c, 1, &v))
		return false;
	*val = v;
	return true;
}

/*
 * Legacy prefixes and REX (SDM vol. 2, 2.1.1 and 2.2.1).  The legacy
 * prefixes come in any order and may repeat; REX counts only when it
 * immediately precedes the opcode, so a legacy prefix after it cancels it.
 * Sets @prefix_len, @rex, @seg, @rep, @op_size and @addr_size, and leaves
 * the cursor on the opcode.  LOCK is refused: no instruction emulated here
 * takes it (MOV with LOCK is #UD).
 */
static int mvm_take_prefixes(struct mvm_cursor *c, unsigned int mode,
			     struct mvm_insn *insn)
{
	bool opsize = false, adsize = false;
	u8 b;

	if (mode != 16 && mode != 32 && mode != 64)
		return -EINVAL;
	insn->seg = MVM_SEG_NONE;

	/* Each pass takes a byte, so the 15-byte cursor bounds the loop. */
	for (;;) {
		if (c->pos >= c->n)
			return -EINVAL;
		b = c->bytes[c->pos];
		if (mode == 64 && (b & 0xf0) == 0x40) {
			insn->rex = b;
			c->pos++;
			continue;
		}
		switch (b) {
		case 0x26:
			insn->seg = MVM_SEG_ES;
			break;
		case 0x2e:
			insn->seg = MVM_SEG_CS;
			break;
		case 0x36:
			insn->seg = MVM_SEG_SS;
			break;
		case 0x3e:
			insn->seg = MVM_SEG_DS;
			break;
		case 0x64:
			insn->seg = MVM_SEG_FS;
			break;
		case 0x65:
			insn->seg = MVM_SEG_GS;
			break;
		case 0x66:
			opsize = true;
			break;
		case 0x67:
			adsize = true;
			break;
		case 0xf2:
			insn->rep = MVM_REP_NE;
			break;
		case 0xf3:
			insn->rep = MVM_REP_E;
			break;
		case 0xf0:
			return -EINVAL;
		default:
			goto opcode;
		}
		insn->rex = 0;
		c->pos++;
	}

opcode:
	insn->prefix_len = c->pos;

	/* SDM vol. 1, 3.6.1, tables 3-3 and 3-4. */
	switch (mode) {
	case 16:
		insn->op_size = opsize ? 4 : 2;
		insn->addr_size = adsize ? 4 : 2;
		break;
	case 32:
		insn->op_size = opsize ? 2 : 4;
		insn->addr_size = adsize ? 2 : 4;
		break;
	default:
		if (insn->rex & REX_W)
			insn->op_size = 8;
		else
			insn->op_size = opsize ? 2 : 4;
		insn->addr_size = adsize ? 4 : 8;
		break;
	}
	return 0;
}

/*
 * Steps over ModRM, SIB and the displacement of an instruction whose ModRM
 * must name memory, and returns the ModRM reg field.  With 16-bit
 * addressing there is no SIB and mod 0 r/m 6 is disp16 (SDM vol. 2, table
 * 2-1); with 32- and 64-bit addressing r/m 4 brings a SIB, SIB base 5 with
 * mod 0 is disp32 with no base, and mod 0 r/m 5 is disp32, which 64-bit
 * mode makes RIP-relative (tables 2-2 and 2-3, 2.2.1.6).  These special
 * cases look at the 3-bit fields only: REX.B does not change them
 * (2.2.1.2), so r13 as a base still needs a displacement.
 */
static int mvm_decode_modrm(struct mvm_cursor *c, unsigned int mode,
			    struct mvm_insn *insn, u8 *reg)
{
	unsigned int disp_size = 0;
	u8 modrm, sib;
	u64 disp;

	if (!mvm_take_u8(c, &modrm))
		return -EINVAL;
	if (MODRM_MOD(modrm) == 3)
		return -EINVAL;
	*reg = MODRM_REG(modrm);

	if (insn->addr_size == 2) {
		if (MODRM_MOD(modrm) == 1)
			disp_size = 1;
		else if (MODRM_MOD(modrm) == 2 ||
			 (MODRM_MOD(modrm) == 0 && MODRM_RM(modrm) == 6))
			disp_size = 2;
	} else {
		if (MODRM_RM(modrm) == 4) {
			if (!mvm_take_u8(c, &sib))
				return -EINVAL;
			if (MODRM_MOD(modrm) == 0 && SIB_BASE(sib) == 5)
				disp_size = 4;
		}
		if (MODRM_MOD(modrm) == 0 && MODRM_RM(modrm) == 5) {
			disp_size = 4;
			insn->rip_relative = mode == 64;
		}
		if (MODRM_MOD(modrm) == 1)
			disp_size = 1;
		else if (MODRM_MOD(modrm) == 2)
			disp_size = 4;
	}

	if (disp_size) {
		if (!mvm_take(c, disp_size, &disp))
			return -EINVAL;
		insn->disp = mvm_sign_extend(disp, disp_size);
	}
	return 0;
}

/*
 * The register operand of a ModRM instruction, from ModRM.reg and REX.R.
 * A byte register 4-7 is AH, CH, DH, BH without REX and SPL, BPL, SIL, DIL
 * with any REX, even 40 (SDM vol. 2, 2.2.1.2, table 3-1).
 */
static void mvm_set_reg(struct mvm_insn *insn, u8 reg, unsigned int reg_size)
{
	insn->reg = reg | (insn->rex & REX_R ? 8 : 0);
	if (reg_size == 1 && !insn->rex && reg >= 4) {
		insn->reg = reg - 4;
		insn->high8 = true;
	}
}

/* A ModRM instruction: register operand of @reg_size, memory of @size. */
static int mvm_decode_rm(struct mvm_cursor *c, unsigned int mode,
			 struct mvm_insn *insn, u8 op, unsigned int size,
			 unsigned int reg_size)
{
	u8 reg;
	int r;

	r = mvm_decode_modrm(c, mode, insn, &reg);
	if (r)
		return r;
	insn->op = op;
	insn->size = size;
	insn->dst_size = op == MVM_INSN_LOAD ? reg_size : size;
	mvm_set_reg(insn, reg, reg_size);
	return 0;
}

/* C6 /0 ib and C7 /0 iw or id: MOV r/m, imm.  The reg field must be 0. */
static int mvm_decode_mov_imm(struct mvm_cursor *c, unsigned int mode,
			      struct mvm_insn *insn, unsigned int size)
{
	unsigned int imm_size = size == 8 ? 4 : size;
	u64 imm;
	u8 reg;
	int r;

	r = mvm_decode_modrm(c, mode, insn, &reg);
	if (r)
		return r;
	if (reg)
		return -EINVAL;
	/* A 64-bit MOV takes imm32 and sign-extends it (SDM vol. 2, MOV). */
	if (!mvm_take(c, imm_size, &imm))
		return -EINVAL;
	insn->op = MVM_INSN_STORE;
	insn->size = size;
	insn->dst_size = size;
	insn->has_imm = true;
	insn->imm = mvm_sign_extend(imm, imm_size);
	return 0;
}

/*
 * A0-A3: MOV between AL/rAX and a memory offset coded in the instruction.
 * The offset is as wide as the address size: 8 bytes in 64-bit mode, 4 with
 * 67 there (SDM vol. 2, 2.2.1.4).
 */
static int mvm_decode_moffs(struct mvm_cursor *c, struct mvm_insn *insn,
			    u8 op, unsigned int size)
{
	if (!mvm_take(c, insn->addr_size, &insn->disp))
		return -EINVAL;
	insn->op = op;
	insn->size = size;
	insn->dst_size = size;
	insn->reg = MVM_GPR_RAX;
	return 0;
}

/* 0F B6/B7/BE/BF: MOVZX and MOVSX. */
static int mvm_decode_0f(struct mvm_cursor *c, unsigned int mode,
			 struct mvm_insn *insn)
{
	u8 b;
	int r;

	if (!mvm_take_u8(c, &b))
		return -EINVAL;
	switch (b) {
	case 0xb6:
	case 0xb7:
	case 0xbe:
	case 0xbf:
		r = mvm_decode_rm(c, mode, insn, MVM_INSN_LOAD,
				  b & 1 ? 2 : 1, insn->op_size);
		insn->sign = b >= 0xbe;
		return r;
	default:
		return -EINVAL;
	}
}

/**
 * mvm_decode - decode an instruction that accesses memory
 * @bytes:	the instruction, from its first prefix
 * @n:		bytes available; more than MVM_INSN_MAX are ignored
 * @mode:	16, 32 or 64: the default operand and address size of the
 *		code segment (CS.D), or 64-bit mode (EFER.LMA and CS.L)
 * @insn:	filled in; on failure its contents are undefined
 *
 * Knows MOV 88, 89, 8A, 8B, C6 /0, C7 /0 and A0-A3, MOVZX 0F B6/B7, MOVSX
 * 0F BE/BF, MOVSXD 63 (64-bit mode) and STOS AA/AB.
 *
 * Return: 0, or -EINVAL for anything else: an unknown opcode, LOCK, a
 * register operand where memory is required, more than 15 bytes, or an
 * instruction that runs past @n.
 */
int mvm_decode(const u8 *bytes, unsigned int n, unsigned int mode,
	       struct mvm_insn *insn)
{
	struct mvm_cursor c = {
		.bytes = bytes,
		.n = n < MVM_INSN_MAX ? n : MVM_INSN_MAX,
	};
	unsigned int osz;
	u8 b;
	int r;

	*insn = (struct mvm_insn){ 0 };
	r = mvm_take_prefixes(&c, mode, insn);
	if (r)
		return r;
	osz = insn->op_size;
	if (!mvm_take_u8(&c, &b))
		return -EINVAL;

	switch (b) {
	case 0x88:
		r = mvm_decode_rm(&c, mode, insn, MVM_INSN_STORE, 1, 1);
		break;
	case 0x89:
		r = mvm_decode_rm(&c, mode, insn, MVM_INSN_STORE, osz, osz);
		break;
	case 0x8a:
		r = mvm_decode_rm(&c, mode, insn, MVM_INSN_LOAD, 1, 1);
		break;
	case 0x8b:
		r = mvm_decode_rm(&c, mode, insn, MVM_INSN_LOAD, osz, osz);
		break;
	case 0xc6:
		r = mvm_decode_mov_imm(&c, mode, insn, 1);
		break;
	case 0xc7:
		r = mvm_decode_mov_imm(&c, mode, insn, osz);
		break;
	case 0xa0:
		r = mvm_decode_moffs(&c, insn, MVM_INSN_LOAD, 1);
		break;
	case 0xa1:
		r = mvm_decode_moffs(&c, insn, MVM_INSN_LOAD, osz);
		break;
	case 0xa2:
		r = mvm_decode_moffs(&c, insn, MVM_INSN_STORE, 1);
		break;
	case 0xa3:
		r = mvm_decode_moffs(&c, insn, MVM_INSN_STORE, osz);
		break;
	case 0x0f:
		r = mvm_decode_0f(&c, mode, insn);
		break;
	case 0x63:
		/*
		 * MOVSXD, 64-bit mode only (elsewhere 63 is ARPL).  Without
		 * REX.W it is a plain 16- or 32-bit move (SDM vol. 2, MOVSX).
		 */
		if (mode != 64)
			return -EINVAL;
		r = mvm_decode_rm(&c, mode, insn, MVM_INSN_LOAD,
				  osz == 8 ? 4 : osz, osz);
		insn->sign = osz == 8;
		break;
	case 0xaa:
	case 0xab:
		/* STOS: rAX to ES:rDI; no ModRM, so nothing more to take. */
		insn->op = MVM_INSN_STORE;
		insn->size = b == 0xaa ? 1 : osz;
		insn->dst_size = insn->size;
		insn->reg = MVM_GPR_RAX;
		insn->string = true;
		r = 0;
		break;
	default:
		return -EINVAL;
	}
	if (r)
		return r;
	insn->len = c.pos;
	return 0;
}

/**
 * mvm_decode_prefixes - decode the prefixes of any instruction
 * @bytes:	the instruction, from its first prefix
 * @n:		bytes available
 * @mode:	16, 32 or 64, as for mvm_decode()
 * @insn:	gets @prefix_len, @rex, @seg, @rep, @op_size and @addr_size;
 *		the other fields are zero
 *
 * For callers that know the opcode already (string I/O, whose exit says
 * what it is but not always which segment): the opcode is at
 * @bytes[@insn->prefix_len], which is below @n.
 *
 * Return: 0, or -EINVAL for LOCK, no opcode within @n or 15 bytes, or a
 * bad @mode.
 */
int mvm_decode_prefixes(const u8 *bytes, unsigned int n, unsigned int mode,
			struct mvm_insn *insn)
{
	struct mvm_cursor c = {
		.bytes = bytes,
		.n = n < MVM_INSN_MAX ? n : MVM_INSN_MAX,
	};

	*insn = (struct mvm_insn){ 0 };
	return mvm_take_prefixes(&c, mode, insn);
}

/**
 * mvm_decode_skip - the length of an instruction with known opcode bytes
 * @bytes:	the instruction, from its first prefix
 * @n:		bytes available
 * @mode:	16, 32 or 64, as for mvm_decode()
 * @op:		the opcode bytes expected after the prefixes (0F A2 for CPUID)
 * @oplen:	how many; the instruction must have no operand bytes after
 *
 * For the intercepted instructions that must be stepped over without the
 * hardware telling the next RIP (SVM without NRIP save).
 *
 * Return: prefix length plus @oplen, or -EINVAL if the bytes after the
 * prefixes are not @op, there is a LOCK, or the total exceeds 15 bytes.
 */
int mvm_decode_skip(const u8 *bytes, unsigned int n, unsigned int mode,
		    const u8 *op, unsigned int oplen)
{
	struct mvm_cursor c = {
		.bytes = bytes,
		.n = n < MVM_INSN_MAX ? n : MVM_INSN_MAX,
	};
	struct mvm_insn insn = { 0 };
	unsigned int i;
	int r;

	r = mvm_take_prefixes(&c, mode, &insn);
	if (r)
		return r;
	if (!oplen || oplen > c.n - c.pos)
		return -EINVAL;
	for (i = 0; i < oplen; i++)
		if (c.bytes[c.pos + i] != op[i])
			return -EINVAL;
	return c.pos + oplen;
}

/* struct mvm_regs holds the GPRs in another order than their numbers. */
static const unsigned short mvm_gpr_offset[MVM_NR_GPRS] = {
	offsetof(struct mvm_regs, rax), offsetof(struct mvm_regs, rcx),
	offsetof(struct mvm_regs, rdx), offsetof(struct mvm_regs, rbx),
	offsetof(struct mvm_regs, rsp), offsetof(struct mvm_regs, rbp),
	offsetof(struct mvm_regs, rsi), offsetof(struct mvm_regs, rdi),
	offsetof(struct mvm_regs, r8), offsetof(struct mvm_regs, r9),
	offsetof(struct mvm_regs, r10), offsetof(struct mvm_regs, r11),
	offsetof(struct mvm_regs, r12), offsetof(struct mvm_regs, r13),
	offsetof(struct mvm_regs, r14), offsetof(struct mvm_regs, r15),
};

/**
 * mvm_gpr_read - read a GPR as an instruction sees it
 * @regs:	the registers
 * @reg:	0 (rAX) to 15 (r15); higher bits are ignored
 * @size:	1, 2, 4 or 8 bytes
 * @high8:	read bits 15:8 (AH, CH, DH, BH for @reg 0-3); @size is 1
 *
 * Return: the value, zero-extended.
 */
u64 mvm_gpr_read(const struct mvm_regs *regs, unsigned int reg,
		 unsigned int size, bool high8)
{
	const u64 *p = (const void *)((const char *)regs +
				      mvm_gpr_offset[reg & 15]);

	if (high8)
		return (*p >> 8) & 0xff;
	return *p & mvm_size_mask(size);
}

/**
 * mvm_gpr_write - write a GPR as an instruction does
 * @regs:	the registers
 * @reg:	0 (rAX) to 15 (r15); higher bits are ignored
 * @size:	1, 2, 4 or 8 bytes; other sizes write nothing
 * @high8:	write bits 15:8 (AH, CH, DH, BH for @reg 0-3)
 * @val:	the value; its low @size bytes count
 *
 * 8- and 16-bit writes leave the other bits alone; a 32-bit write clears
 * bits 63:32 (SDM vol. 1, 3.4.1.1).
 */
void mvm_gpr_write(struct mvm_regs *regs, unsigned int reg,
		   unsigned int size, bool high8, u64 val)
{
	u64 *p = (void *)((char *)regs + mvm_gpr_offset[reg & 15]);

	if (high8) {
		*p = (*p & ~0xff00ULL) | (val & 0xff) << 8;
		return;
	}
	switch (size) {
	case 1:
	case 2:
		*p = (*p & ~mvm_size_mask(size)) | (val & mvm_size_mask(size));
		break;
	case 4:
		*p = val & 0xffffffffULL;
		break;
	case 8:
		*p = val;
		break;
	}
}

/**
 * mvm_regs_from_gprs - the GPRs of struct mvm_regs from an array
 * @regs:	written: rax ... r15, rsp included
 * @gprs:	MVM_NR_GPRS values indexed by MVM_GPR_*, as the backends keep
 *		them; the caller overwrites what its hardware keeps elsewhere
 */
void mvm_regs_from_gprs(struct mvm_regs *regs, const u64 *gprs)
{
	unsigned int i;

	for (i = 0; i < MVM_NR_GPRS; i++)
		*(u64 *)((char *)regs + mvm_gpr_offset[i]) = gprs[i];
}

/**
 * mvm_regs_to_gprs - the other way: @gprs[MVM_GPR_*] from @regs
 * @gprs:	MVM_NR_GPRS values; RSP's slot too
 * @regs:	the registers
 */
void mvm_regs_to_gprs(u64 *gprs, const struct mvm_regs *regs)
{
	unsigned int i;

	for (i = 0; i < MVM_NR_GPRS; i++)
		gprs[i] = *(const u64 *)((const char *)regs +
					 mvm_gpr_offset[i]);
}

/**
 * mvm_complete_read - finish a load whose value came from userspace
 * @regs:	the vCPU's registers
 * @p:		the load, as mvm_emulate_mmio() (or port I/O) recorded it
 * @data:	the value read; its low @p->size bytes count
 *
 * Extends the value to @p->dst_size (sign or zero), writes the register by
 * mvm_gpr_write()'s rules and moves RIP past the instruction.
 */
void mvm_complete_read(struct mvm_regs *regs,
		       const struct mvm_pending_read *p, u64 data)
{
	unsigned int dst_size = p->dst_size ? p->dst_size : p->size;
	u64 val = data & mvm_size_mask(p->size);

	if (p->sign)
		val = mvm_sign_extend(val, p->size);
	mvm_gpr_write(regs, p->reg, dst_size, p->high8, val);
	regs->rip = p->next_rip;
}
