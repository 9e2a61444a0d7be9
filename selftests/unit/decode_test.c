// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of module/emul/decode.c, the MMIO instruction decoder.
 *
 * The encodings below were checked against GNU as 2.40 (the comment on
 * each is its AT&T syntax).  Every DECODE() also checks that the decoded
 * length is exactly the bytes given, and the truncation case cuts every
 * vector short at every length.  Built with ASan and UBSan by `make unit`,
 * so an out-of-bounds read of a guest's bytes fails the test.
 */
#include <stdlib.h>

#include "unit/shim.h"
#include "emul/decode.h"
#include "lib/ktap.h"

/* Decodes the bytes in @mode into @insn; they must be one whole insn. */
#define DECODE(mode, insn, ...)						\
	do {								\
		static const u8 b_[] = { __VA_ARGS__ };			\
		int r_ = mvm_decode(b_, sizeof(b_), (mode), (insn));	\
		CHECK(r_ == 0, "decode returned %d", r_);		\
		CHECK((insn)->len == sizeof(b_), "len %u, want %zu",	\
		      (insn)->len, sizeof(b_));				\
	} while (0)

/* The bytes must be refused. */
#define REJECT(mode, ...)						\
	do {								\
		static const u8 b_[] = { __VA_ARGS__ };			\
		struct mvm_insn i_;					\
		int r_ = mvm_decode(b_, sizeof(b_), (mode), &i_);	\
		CHECK(r_ == -EINVAL, "decode returned %d, want -EINVAL", r_); \
	} while (0)

/* The fields every decoded instruction has. */
#define EXPECT(insn, op_, size_, dst_, reg_, high8_)			\
	do {								\
		CHECK((insn)->op == (op_), "op %u", (insn)->op);	\
		CHECK((insn)->size == (size_), "size %u", (insn)->size); \
		CHECK((insn)->dst_size == (dst_), "dst_size %u",	\
		      (insn)->dst_size);				\
		CHECK((insn)->reg == (reg_), "reg %u", (insn)->reg);	\
		CHECK((insn)->high8 == (high8_), "high8 %d", (insn)->high8); \
	} while (0)

#define LOAD	MVM_INSN_LOAD
#define STORE	MVM_INSN_STORE

/* --- 64-bit mode -------------------------------------------------------- */

static int mov_store_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x89, 0x08);			/* mov %ecx,(%rax) */
	EXPECT(&i, STORE, 4, 4, 1, false);
	CHECK(i.op_size == 4 && i.addr_size == 8 && i.prefix_len == 0, " ");
	CHECK(!i.has_imm && !i.sign && !i.string && !i.rip_relative, " ");
	CHECK(i.seg == MVM_SEG_NONE && i.rep == MVM_REP_NONE, " ");
	return KTAP_PASS;
}

static int mov_store_rip_relative(void)
{
	struct mvm_insn i;

	/* mov %r9,0x12345678(%rip): REX.W and REX.R */
	DECODE(64, &i, 0x4c, 0x89, 0x0d, 0x78, 0x56, 0x34, 0x12);
	EXPECT(&i, STORE, 8, 8, 9, false);
	CHECK(i.rip_relative && i.disp == 0x12345678, "disp %llx", i.disp);
	CHECK(i.rex == 0x4c && i.prefix_len == 1, "rex %x", i.rex);
	return KTAP_PASS;
}

static int mov_store_high8(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x88, 0x23);			/* mov %ah,(%rbx) */
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RAX, true);
	DECODE(64, &i, 0x40, 0x88, 0x33);		/* mov %sil,(%rbx) */
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RSI, false);
	DECODE(64, &i, 0x88, 0x3b);			/* mov %bh,(%rbx) */
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RBX, true);
	return KTAP_PASS;
}

static int mov_load_rex_r_b(void)
{
	struct mvm_insn i;

	/* mov 0x0(%r13),%r10b: r13 as a base still needs a disp8. */
	DECODE(64, &i, 0x45, 0x8a, 0x55, 0x00);
	EXPECT(&i, LOAD, 1, 1, 10, false);
	/* mov 0x0(%rbp),%eax */
	DECODE(64, &i, 0x8b, 0x45, 0x00);
	EXPECT(&i, LOAD, 4, 4, 0, false);
	return KTAP_PASS;
}

static int mov_load_sib_disp8(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x8b, 0x44, 0x8c, 0x10);	/* mov 0x10(%rsp,%rcx,4),%eax */
	EXPECT(&i, LOAD, 4, 4, 0, false);
	CHECK(i.disp == 0x10, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int mov_imm32_sib_no_base(void)
{
	struct mvm_insn i;

	/* movq $-2,0x11223344(,%rdx,8): SIB, disp32, imm32, REX.W */
	DECODE(64, &i, 0x48, 0xc7, 0x04, 0xd5, 0x44, 0x33, 0x22, 0x11,
	       0xfe, 0xff, 0xff, 0xff);
	EXPECT(&i, STORE, 8, 8, 0, false);
	CHECK(i.has_imm && i.imm == 0xfffffffffffffffeULL, "imm %llx", i.imm);
	CHECK(i.disp == 0x11223344, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int mov_imm32_disp32_absolute(void)
{
	struct mvm_insn i;

	/* movl $0x12345678,0x7fffffff: SIB with no base or index */
	DECODE(64, &i, 0xc7, 0x04, 0x25, 0xff, 0xff, 0xff, 0x7f,
	       0x78, 0x56, 0x34, 0x12);
	EXPECT(&i, STORE, 4, 4, 0, false);
	CHECK(i.imm == 0x12345678 && !i.rip_relative, "imm %llx", i.imm);
	return KTAP_PASS;
}

static int mov_imm16_fs(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x64, 0x66, 0xc7, 0x00, 0x34, 0x12); /* movw $0x1234,%fs:(%rax) */
	EXPECT(&i, STORE, 2, 2, 0, false);
	CHECK(i.imm == 0x1234 && i.seg == MVM_SEG_FS, "imm %llx", i.imm);
	CHECK(i.prefix_len == 2 && i.op_size == 2, " ");
	/* movw $0x8000,(%rax): the immediate is sign-extended */
	DECODE(64, &i, 0x66, 0xc7, 0x00, 0x00, 0x80);
	CHECK(i.imm == 0xffffffffffff8000ULL, "imm %llx", i.imm);
	return KTAP_PASS;
}

static int mov_imm8_gs(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x65, 0xc6, 0x40, 0x10, 0x80); /* movb $0x80,%gs:0x10(%rax) */
	EXPECT(&i, STORE, 1, 1, 0, false);
	CHECK(i.seg == MVM_SEG_GS && (i.imm & 0xff) == 0x80, "imm %llx", i.imm);
	return KTAP_PASS;
}

static int moffs_64(void)
{
	struct mvm_insn i;

	/* movabs 0x1122334455667788,%al */
	DECODE(64, &i, 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, LOAD, 1, 1, MVM_GPR_RAX, false);
	CHECK(i.disp == 0x1122334455667788ULL, "disp %llx", i.disp);
	/* movabs 0x1122334455667788,%rax */
	DECODE(64, &i, 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	       0x11);
	EXPECT(&i, LOAD, 8, 8, MVM_GPR_RAX, false);
	/* movabs %eax,0x1122334455667788 */
	DECODE(64, &i, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, STORE, 4, 4, MVM_GPR_RAX, false);
	/* movabs %al,0x1122334455667788; REX.B does not make it r8b */
	DECODE(64, &i, 0x41, 0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
	       0x11);
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RAX, false);
	return KTAP_PASS;
}

static int moffs_addr32_in_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11); /* addr32 mov 0x11223344,%eax */
	EXPECT(&i, LOAD, 4, 4, MVM_GPR_RAX, false);
	CHECK(i.addr_size == 4 && i.disp == 0x11223344, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int movzx_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x44, 0x0f, 0xb6, 0x00);	/* movzbl (%rax),%r8d */
	EXPECT(&i, LOAD, 1, 4, 8, false);
	CHECK(!i.sign, " ");
	DECODE(64, &i, 0x48, 0x0f, 0xb7, 0x00);	/* movzwq (%rax),%rax */
	EXPECT(&i, LOAD, 2, 8, 0, false);
	/* movzbl (%rax),%esp: reg 4 is a destination of 4 bytes, not AH */
	DECODE(64, &i, 0x0f, 0xb6, 0x20);
	EXPECT(&i, LOAD, 1, 4, MVM_GPR_RSP, false);
	return KTAP_PASS;
}

static int movsx_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x66, 0x0f, 0xbe, 0x08);	/* movsbw (%rax),%cx */
	EXPECT(&i, LOAD, 1, 2, 1, false);
	CHECK(i.sign, " ");
	DECODE(64, &i, 0x41, 0x0f, 0xbf, 0x14, 0x24);	/* movswl (%r12),%edx */
	EXPECT(&i, LOAD, 2, 4, 2, false);
	CHECK(i.sign, " ");
	return KTAP_PASS;
}

static int movsxd_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x4c, 0x63, 0x38);		/* movslq (%rax),%r15 */
	EXPECT(&i, LOAD, 4, 8, 15, false);
	CHECK(i.sign, " ");
	DECODE(64, &i, 0x63, 0x00);			/* movsxd (%rax),%eax */
	EXPECT(&i, LOAD, 4, 4, 0, false);
	DECODE(64, &i, 0x66, 0x63, 0x00);		/* movsxd (%rax),%ax */
	EXPECT(&i, LOAD, 2, 2, 0, false);
	/* Outside 64-bit mode 63 is ARPL. */
	REJECT(32, 0x63, 0x00);
	REJECT(16, 0x63, 0x00);
	return KTAP_PASS;
}

static int stos_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0xaa);				/* stos %al,%es:(%rdi) */
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RAX, false);
	CHECK(i.string && i.rep == MVM_REP_NONE, " ");
	DECODE(64, &i, 0xf3, 0x48, 0xab);		/* rep stos %rax,%es:(%rdi) */
	EXPECT(&i, STORE, 8, 8, MVM_GPR_RAX, false);
	CHECK(i.string && i.rep == MVM_REP_E && i.addr_size == 8, " ");
	return KTAP_PASS;
}

static int sizes_in_64(void)
{
	struct mvm_insn i;

	DECODE(64, &i, 0x67, 0x89, 0x08);		/* mov %ecx,(%eax) */
	CHECK(i.addr_size == 4 && i.size == 4, " ");
	DECODE(64, &i, 0x66, 0x89, 0x08);		/* mov %cx,(%rax) */
	CHECK(i.op_size == 2 && i.size == 2, " ");
	/* REX.W wins over 66 (SDM vol. 1, table 3-4). */
	DECODE(64, &i, 0x66, 0x48, 0x89, 0x08);
	CHECK(i.size == 8, "size %u", i.size);
	return KTAP_PASS;
}

static int rex_position(void)
{
	struct mvm_insn i;

	/* A legacy prefix after REX cancels it (SDM vol. 2, 2.2.1). */
	DECODE(64, &i, 0x48, 0x66, 0x89, 0x08);
	CHECK(i.rex == 0 && i.size == 2 && i.prefix_len == 2, "rex %x", i.rex);
	/* Of two REX bytes the last one counts. */
	DECODE(64, &i, 0x41, 0x4c, 0x89, 0x08);
	EXPECT(&i, STORE, 8, 8, 9, false);
	CHECK(i.rex == 0x4c, "rex %x", i.rex);
	/* REX.B names the base, not the register operand. */
	DECODE(64, &i, 0x41, 0x89, 0x08);
	EXPECT(&i, STORE, 4, 4, 1, false);
	/* Outside 64-bit mode 48 is DEC. */
	REJECT(32, 0x48, 0x89, 0x08);
	return KTAP_PASS;
}

/* --- 32-bit mode -------------------------------------------------------- */

static int mov_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x89, 0x08);			/* mov %ecx,(%eax) */
	EXPECT(&i, STORE, 4, 4, 1, false);
	CHECK(i.op_size == 4 && i.addr_size == 4 && !i.rip_relative, " ");
	DECODE(32, &i, 0x88, 0x73, 0x10);		/* mov %dh,0x10(%ebx) */
	EXPECT(&i, STORE, 1, 1, MVM_GPR_RDX, true);
	DECODE(32, &i, 0x66, 0x8b, 0x10);		/* mov (%eax),%dx */
	EXPECT(&i, LOAD, 2, 2, 2, false);
	return KTAP_PASS;
}

static int sib_no_base_32(void)
{
	struct mvm_insn i;

	/* mov 0x11223344(,%esi,2),%bl */
	DECODE(32, &i, 0x8a, 0x1c, 0x75, 0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, LOAD, 1, 1, MVM_GPR_RBX, false);
	CHECK(i.disp == 0x11223344, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int disp32_not_rip_relative_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x8b, 0x05, 0x44, 0x33, 0x22, 0x11); /* mov 0x11223344,%eax */
	CHECK(!i.rip_relative && i.disp == 0x11223344, " ");
	return KTAP_PASS;
}

static int imm32_disp32_32(void)
{
	struct mvm_insn i;

	/* movl $0x11223344,0x55667788(%ebp) */
	DECODE(32, &i, 0xc7, 0x85, 0x88, 0x77, 0x66, 0x55,
	       0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, STORE, 4, 4, 0, false);
	CHECK(i.imm == 0x11223344 && i.disp == 0x55667788, " ");
	return KTAP_PASS;
}

static int moffs_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0xa1, 0x44, 0x33, 0x22, 0x11);	/* mov 0x11223344,%eax */
	EXPECT(&i, LOAD, 4, 4, 0, false);
	DECODE(32, &i, 0xa2, 0x44, 0x33, 0x22, 0x11);	/* mov %al,0x11223344 */
	EXPECT(&i, STORE, 1, 1, 0, false);
	CHECK(i.disp == 0x11223344, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int moffs_addr16_in_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x67, 0x66, 0xa1, 0x22, 0x11);	/* addr16 mov 0x1122,%ax */
	EXPECT(&i, LOAD, 2, 2, 0, false);
	CHECK(i.addr_size == 2 && i.disp == 0x1122, " ");
	return KTAP_PASS;
}

static int addr16_modrm_in_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x67, 0x89, 0x08);		/* mov %ecx,(%bx,%si) */
	EXPECT(&i, STORE, 4, 4, 1, false);
	DECODE(32, &i, 0x67, 0x89, 0x0e, 0x34, 0x12);	/* mov %ecx,0x1234 */
	CHECK(i.disp == 0x1234, " ");
	return KTAP_PASS;
}

static int movzx_movsx_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x0f, 0xb6, 0x08);		/* movzbl (%eax),%ecx */
	EXPECT(&i, LOAD, 1, 4, 1, false);
	CHECK(!i.sign, " ");
	DECODE(32, &i, 0x0f, 0xbe, 0x08);		/* movsbl (%eax),%ecx */
	EXPECT(&i, LOAD, 1, 4, 1, false);
	CHECK(i.sign, " ");
	DECODE(32, &i, 0x0f, 0xbf, 0x08);		/* movswl (%eax),%ecx */
	EXPECT(&i, LOAD, 2, 4, 1, false);
	return KTAP_PASS;
}

static int stos_32(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0xab);				/* stos %eax,%es:(%edi) */
	EXPECT(&i, STORE, 4, 4, 0, false);
	CHECK(i.string && i.addr_size == 4, " ");
	DECODE(32, &i, 0xf3, 0xaa);			/* rep stos %al,%es:(%edi) */
	CHECK(i.size == 1 && i.rep == MVM_REP_E, " ");
	return KTAP_PASS;
}

static int segment_prefixes(void)
{
	static const struct { u8 prefix; int seg; } segs[] = {
		{ 0x26, MVM_SEG_ES }, { 0x2e, MVM_SEG_CS },
		{ 0x36, MVM_SEG_SS }, { 0x3e, MVM_SEG_DS },
		{ 0x64, MVM_SEG_FS }, { 0x65, MVM_SEG_GS },
	};
	unsigned int k, mode;

	for (mode = 16; mode <= 64; mode *= 2) {
		for (k = 0; k < 6; k++) {
			u8 b[] = { segs[k].prefix, 0x8b, 0x10 };
			struct mvm_insn i;

			CHECK(!mvm_decode(b, 3, mode, &i), "%x", b[0]);
			CHECK(i.seg == segs[k].seg && i.len == 3 &&
			      i.prefix_len == 1, "%x: seg %d", b[0], i.seg);
		}
	}
	return KTAP_PASS;
}

static int last_segment_wins(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0x26, 0x64, 0x8b, 0x10);
	CHECK(i.seg == MVM_SEG_FS && i.prefix_len == 2, "seg %d", i.seg);
	return KTAP_PASS;
}

static int rep_prefixes(void)
{
	struct mvm_insn i;

	DECODE(32, &i, 0xf2, 0x89, 0x08);
	CHECK(i.rep == MVM_REP_NE, "rep %u", i.rep);
	DECODE(32, &i, 0xf2, 0xf3, 0x89, 0x08);
	CHECK(i.rep == MVM_REP_E, "rep %u", i.rep);
	DECODE(64, &i, 0xf3, 0x88, 0x08);		/* xrelease mov */
	CHECK(i.rep == MVM_REP_E && i.size == 1, "rep %u", i.rep);
	return KTAP_PASS;
}

/* --- 16-bit mode -------------------------------------------------------- */

static int mov_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0x89, 0x08);			/* mov %cx,(%bx,%si) */
	EXPECT(&i, STORE, 2, 2, 1, false);
	CHECK(i.op_size == 2 && i.addr_size == 2, " ");
	DECODE(16, &i, 0x66, 0x89, 0x0f);		/* mov %ecx,(%bx) */
	EXPECT(&i, STORE, 4, 4, 1, false);
	return KTAP_PASS;
}

static int disp16_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0x89, 0x0e, 0x34, 0x12);	/* mov %cx,0x1234 */
	CHECK(i.disp == 0x1234, "disp %llx", i.disp);
	DECODE(16, &i, 0x8a, 0x46, 0x12);		/* mov 0x12(%bp),%al */
	EXPECT(&i, LOAD, 1, 1, 0, false);
	DECODE(16, &i, 0x8b, 0x96, 0x00, 0x80);	/* mov -0x8000(%bp),%dx */
	CHECK(i.disp == 0xffffffffffff8000ULL, "disp %llx", i.disp);
	return KTAP_PASS;
}

static int imm16_disp16_16(void)
{
	struct mvm_insn i;

	/* movw $0x1234,0x5678(%bx) */
	DECODE(16, &i, 0xc7, 0x87, 0x78, 0x56, 0x34, 0x12);
	EXPECT(&i, STORE, 2, 2, 0, false);
	CHECK(i.imm == 0x1234 && i.disp == 0x5678, " ");
	/* movl $0x11223344,(%bx) */
	DECODE(16, &i, 0x66, 0xc7, 0x07, 0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, STORE, 4, 4, 0, false);
	CHECK(i.imm == 0x11223344, "imm %llx", i.imm);
	return KTAP_PASS;
}

static int moffs_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0xa1, 0x34, 0x12);		/* mov 0x1234,%ax */
	EXPECT(&i, LOAD, 2, 2, 0, false);
	CHECK(i.disp == 0x1234, " ");
	DECODE(16, &i, 0xa2, 0x34, 0x12);		/* mov %al,0x1234 */
	EXPECT(&i, STORE, 1, 1, 0, false);
	/* addr32 mov 0x11223344,%al */
	DECODE(16, &i, 0x67, 0xa0, 0x44, 0x33, 0x22, 0x11);
	EXPECT(&i, LOAD, 1, 1, 0, false);
	CHECK(i.addr_size == 4 && i.disp == 0x11223344, " ");
	return KTAP_PASS;
}

static int addr32_sib_in_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0x67, 0x89, 0x0c, 0x98);	/* mov %cx,(%eax,%ebx,4) */
	EXPECT(&i, STORE, 2, 2, 1, false);
	CHECK(i.addr_size == 4, " ");
	return KTAP_PASS;
}

static int movzx_movsx_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0x0f, 0xb6, 0x17);		/* movzbw (%bx),%dx */
	EXPECT(&i, LOAD, 1, 2, 2, false);
	DECODE(16, &i, 0x66, 0x0f, 0xbe, 0x17);	/* movsbl (%bx),%edx */
	EXPECT(&i, LOAD, 1, 4, 2, false);
	CHECK(i.sign, " ");
	return KTAP_PASS;
}

static int stos_16(void)
{
	struct mvm_insn i;

	DECODE(16, &i, 0xab);				/* stos %ax,%es:(%di) */
	EXPECT(&i, STORE, 2, 2, 0, false);
	CHECK(i.string && i.addr_size == 2, " ");
	return KTAP_PASS;
}

/* --- rejects ------------------------------------------------------------ */

static int reject_lock(void)
{
	REJECT(64, 0xf0, 0x89, 0x08);
	REJECT(32, 0x66, 0xf0, 0x89, 0x08);
	return KTAP_PASS;
}

static int length_limit(void)
{
	struct mvm_insn i;

	/* Four prefixes and an 11-byte insn: 15, the most there can be. */
	DECODE(64, &i, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x04, 0x25,
	       0xff, 0xff, 0xff, 0x7f, 0x78, 0x56, 0x34, 0x12);
	/* Five are one too many (SDM vol. 2, 2.3.11). */
	REJECT(64, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x04, 0x25,
	       0xff, 0xff, 0xff, 0x7f, 0x78, 0x56, 0x34, 0x12);
	/* Nothing but prefixes. */
	REJECT(32, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	       0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x08);
	return KTAP_PASS;
}

static int reject_unknown_opcode(void)
{
	REJECT(64, 0x90);				/* nop */
	REJECT(64, 0x01, 0x08);				/* add %ecx,(%rax) */
	REJECT(64, 0x0f, 0x05);				/* syscall */
	REJECT(64, 0x0f, 0xb8, 0x08);			/* 0f b8 without f3 */
	REJECT(32, 0xa4);				/* movsb */
	REJECT(64, 0xc6, 0x08, 0x12);			/* c6 /1 */
	REJECT(64, 0xc7, 0x38, 0, 0, 0, 0);		/* c7 /7 */
	REJECT(64, 0x0f);
	return KTAP_PASS;
}

static int reject_register_operand(void)
{
	REJECT(64, 0x89, 0xc8);				/* mov %ecx,%eax */
	REJECT(64, 0x8b, 0xc1);
	REJECT(64, 0x88, 0xc4);
	REJECT(64, 0x8a, 0xe0);
	REJECT(64, 0xc6, 0xc0, 0x12);			/* mov $0x12,%al */
	REJECT(64, 0xc7, 0xc0, 1, 0, 0, 0);
	REJECT(64, 0x0f, 0xb6, 0xc0);			/* movzbl %al,%eax */
	REJECT(64, 0x0f, 0xbf, 0xc0);
	REJECT(64, 0x48, 0x63, 0xc0);			/* movslq %eax,%rax */
	REJECT(16, 0x89, 0xc8);
	return KTAP_PASS;
}

static int reject_bad_mode(void)
{
	static const u8 b[] = { 0x89, 0x08 };
	struct mvm_insn i;

	CHECK(mvm_decode(b, 2, 8, &i) == -EINVAL, " ");
	CHECK(mvm_decode(b, 2, 0, &i) == -EINVAL, " ");
	CHECK(mvm_decode(b, 0, 64, &i) == -EINVAL, "empty");
	return KTAP_PASS;
}

/* Representative vectors, for the truncation and trailing-byte cases. */
static const struct {
	unsigned int mode, n;
	u8 b[MVM_INSN_MAX];
} vectors[] = {
	{ 64, 7, { 0x4c, 0x89, 0x0d, 0x78, 0x56, 0x34, 0x12 } },
	{ 64, 12, { 0x48, 0xc7, 0x04, 0xd5, 0x44, 0x33, 0x22, 0x11,
		    0xfe, 0xff, 0xff, 0xff } },
	{ 64, 10, { 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
		    0x11 } },
	{ 64, 5, { 0x41, 0x0f, 0xbf, 0x14, 0x24 } },
	{ 64, 6, { 0x64, 0x66, 0xc7, 0x00, 0x34, 0x12 } },
	{ 64, 4, { 0x45, 0x8a, 0x55, 0x00 } },
	{ 32, 7, { 0x8a, 0x1c, 0x75, 0x44, 0x33, 0x22, 0x11 } },
	{ 32, 5, { 0x67, 0x66, 0xa1, 0x22, 0x11 } },
	{ 32, 10, { 0xc7, 0x85, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
		    0x11 } },
	{ 16, 6, { 0xc7, 0x87, 0x78, 0x56, 0x34, 0x12 } },
	{ 16, 6, { 0x67, 0xa0, 0x44, 0x33, 0x22, 0x11 } },
	{ 16, 4, { 0x67, 0x89, 0x0c, 0x98 } },
};

#define NR_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

static int reject_truncated(void)
{
	unsigned int v, k;

	for (v = 0; v < NR_VECTORS; v++) {
		struct mvm_insn i;

		CHECK(!mvm_decode(vectors[v].b, vectors[v].n, vectors[v].mode,
				  &i) && i.len == vectors[v].n, "vector %u", v);
		for (k = 0; k < vectors[v].n; k++) {
			/* An exact-size copy, so ASan sees any overread. */
			u8 *b = malloc(k ? k : 1);

			CHECK(b, "malloc");
			memcpy(b, vectors[v].b, k);
			CHECK(mvm_decode(b, k, vectors[v].mode, &i) == -EINVAL,
			      "vector %u cut to %u bytes decoded", v, k);
			free(b);
		}
	}
	return KTAP_PASS;
}

static int trailing_bytes(void)
{
	unsigned int v;

	for (v = 0; v < NR_VECTORS; v++) {
		u8 b[32];
		struct mvm_insn i;

		memset(b, 0x90, sizeof(b));
		memcpy(b, vectors[v].b, vectors[v].n);
		CHECK(!mvm_decode(b, sizeof(b), vectors[v].mode, &i),
		      "vector %u", v);
		CHECK(i.len == vectors[v].n, "vector %u: len %u", v, i.len);
	}
	return KTAP_PASS;
}

/* Random bytes: no crash, no overread, and a sane length when accepted. */
static int random_bytes(void)
{
	static const unsigned int modes[] = { 16, 32, 64 };
	unsigned int round, n, accepted = 0;

	srand(1);
	for (round = 0; round < 200000; round++) {
		struct mvm_insn i;
		u8 *b;

		n = rand() % 18;
		b = malloc(n ? n : 1);
		CHECK(b, "malloc");
		for (unsigned int k = 0; k < n; k++)
			b[k] = (k < 3 && rand() % 2) ?
				(u8[]){ 0x66, 0x67, 0x48, 0x0f, 0x89 }[rand() % 5] :
				rand();
		if (!mvm_decode(b, n, modes[round % 3], &i)) {
			accepted++;
			CHECK(i.len && i.len <= n && i.len <= MVM_INSN_MAX,
			      "len %u of %u", i.len, n);
			CHECK(i.op == LOAD || i.op == STORE, "op %u", i.op);
			CHECK(i.size == 1 || i.size == 2 || i.size == 4 ||
			      i.size == 8, "size %u", i.size);
			CHECK(i.reg < 16 && i.prefix_len < i.len, " ");
		}
		free(b);
	}
	ktap_diag("random_bytes: %u of 200000 accepted", accepted);
	CHECK(accepted > 1000, "accepted %u", accepted);
	return KTAP_PASS;
}

/* --- mvm_decode_skip ----------------------------------------------------- */

static int skip_plain(void)
{
	static const u8 cpuid[] = { 0x0f, 0xa2 };
	static const u8 hlt[] = { 0xf4 };
	static const u8 b1[] = { 0x0f, 0xa2, 0x90 };
	static const u8 b2[] = { 0xf4 };

	CHECK(mvm_decode_skip(b1, 3, 64, cpuid, 2) == 2, " ");
	CHECK(mvm_decode_skip(b2, 1, 16, hlt, 1) == 1, " ");
	return KTAP_PASS;
}

static int skip_prefixes(void)
{
	static const u8 wrmsr[] = { 0x0f, 0x30 };
	static const u8 b1[] = { 0x66, 0x2e, 0x48, 0x0f, 0x30 };
	static const u8 b2[] = { 0x48, 0x0f, 0x30 };

	CHECK(mvm_decode_skip(b1, 5, 64, wrmsr, 2) == 5, " ");
	CHECK(mvm_decode_skip(b2, 3, 64, wrmsr, 2) == 3, " ");
	/* 48 is DEC outside 64-bit mode: not a prefix. */
	CHECK(mvm_decode_skip(b2, 3, 32, wrmsr, 2) == -EINVAL, " ");
	return KTAP_PASS;
}

static int skip_rejects(void)
{
	static const u8 cpuid[] = { 0x0f, 0xa2 };
	static const u8 other[] = { 0x0f, 0x30 };
	static const u8 locked[] = { 0xf0, 0x0f, 0xa2 };
	static const u8 long15[] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				     0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				     0x0f, 0xa2 };

	CHECK(mvm_decode_skip(other, 2, 64, cpuid, 2) == -EINVAL, "mismatch");
	CHECK(mvm_decode_skip(cpuid, 1, 64, cpuid, 2) == -EINVAL, "truncated");
	CHECK(mvm_decode_skip(locked, 3, 64, cpuid, 2) == -EINVAL, "lock");
	CHECK(mvm_decode_skip(long15, 16, 64, cpuid, 2) == -EINVAL, "16 bytes");
	CHECK(mvm_decode_skip(long15 + 1, 15, 64, cpuid, 2) == 15, "15 bytes");
	CHECK(mvm_decode_skip(cpuid, 2, 64, cpuid, 0) == -EINVAL, "no opcode");
	return KTAP_PASS;
}

static int prefixes_only(void)
{
	static const u8 outsb[] = { 0xf3, 0x67, 0x64, 0x6e };
	static const u8 outsd[] = { 0x2e, 0x66, 0x41, 0x6f };
	static const u8 bare[] = { 0x6f };
	struct mvm_insn i;

	CHECK(!mvm_decode_prefixes(outsb, 4, 32, &i), " ");
	CHECK(i.prefix_len == 3 && i.seg == MVM_SEG_FS && i.rep == MVM_REP_E &&
	      i.addr_size == 2 && i.op_size == 4, " ");
	CHECK(!mvm_decode_prefixes(outsd, 4, 64, &i), " ");
	CHECK(i.prefix_len == 3 && i.seg == MVM_SEG_CS && i.rex == 0x41 &&
	      i.op_size == 2 && i.addr_size == 8, " ");
	CHECK(!mvm_decode_prefixes(bare, 1, 16, &i), " ");
	CHECK(i.prefix_len == 0 && i.seg == MVM_SEG_NONE, " ");
	CHECK(mvm_decode_prefixes(outsb, 3, 32, &i) == -EINVAL, "no opcode");
	CHECK(mvm_decode_prefixes(outsb, 4, 0, &i) == -EINVAL, "mode 0");
	return KTAP_PASS;
}

/* --- registers ----------------------------------------------------------- */

static int gpr_numbering(void)
{
	struct mvm_regs r = {
		.rax = 0, .rcx = 1, .rdx = 2, .rbx = 3, .rsp = 4, .rbp = 5,
		.rsi = 6, .rdi = 7, .r8 = 8, .r9 = 9, .r10 = 10, .r11 = 11,
		.r12 = 12, .r13 = 13, .r14 = 14, .r15 = 15,
	};
	unsigned int k;

	for (k = 0; k < 16; k++)
		CHECK(mvm_gpr_read(&r, k, 8, false) == k, "reg %u", k);
	return KTAP_PASS;
}

static int gpr_write_widths(void)
{
	const u64 old = 0x1122334455667788ULL;
	struct mvm_regs r = { .rbx = old };

	mvm_gpr_write(&r, MVM_GPR_RBX, 1, false, 0xaabb);
	CHECK(r.rbx == 0x11223344556677bbULL, "8-bit merges: %llx", r.rbx);
	r.rbx = old;
	mvm_gpr_write(&r, MVM_GPR_RBX, 1, true, 0xaa);
	CHECK(r.rbx == 0x112233445566aa88ULL, "BH merges: %llx", r.rbx);
	r.rbx = old;
	mvm_gpr_write(&r, MVM_GPR_RBX, 2, false, 0xccddaabb);
	CHECK(r.rbx == 0x112233445566aabbULL, "16-bit merges: %llx", r.rbx);
	r.rbx = old;
	mvm_gpr_write(&r, MVM_GPR_RBX, 4, false, 0xffffffffccddaabbULL);
	CHECK(r.rbx == 0xccddaabbULL, "32-bit zero-extends: %llx", r.rbx);
	mvm_gpr_write(&r, MVM_GPR_RBX, 8, false, old);
	CHECK(r.rbx == old, "64-bit: %llx", r.rbx);
	mvm_gpr_write(&r, MVM_GPR_RBX, 3, false, 0);
	CHECK(r.rbx == old, "bad size writes nothing: %llx", r.rbx);
	CHECK(mvm_gpr_read(&r, MVM_GPR_RBX, 1, true) == 0x77, " ");
	CHECK(mvm_gpr_read(&r, MVM_GPR_RBX, 2, false) == 0x7788, " ");
	CHECK(mvm_gpr_read(&r, MVM_GPR_RBX, 4, false) == 0x55667788, " ");
	CHECK(r.rax == 0 && r.rcx == 0 && r.rdx == 0, "neighbours untouched");
	return KTAP_PASS;
}

static int complete_read(void)
{
	struct mvm_regs r = { .rcx = ~0ULL, .rdx = ~0ULL, .r9 = 5 };
	struct mvm_pending_read movzx = {
		.active = true, .size = 1, .reg = MVM_GPR_RCX, .dst_size = 4,
		.next_rip = 0x1003,
	};
	struct mvm_pending_read movsx = {
		.active = true, .size = 2, .reg = MVM_GPR_RDX, .dst_size = 8,
		.sign = true, .next_rip = 0x2004,
	};
	struct mvm_pending_read ah = {
		.active = true, .size = 1, .reg = MVM_GPR_RAX, .high8 = true,
		.dst_size = 1, .next_rip = 0x3002,
	};
	struct mvm_pending_read movsxd = {
		.active = true, .size = 4, .reg = 9, .dst_size = 8,
		.sign = true, .next_rip = 0x4003,
	};

	mvm_complete_read(&r, &movzx, 0xfffffff0);
	CHECK(r.rcx == 0xf0 && r.rip == 0x1003, "movzx: %llx", r.rcx);
	mvm_complete_read(&r, &movsx, 0x8001);
	CHECK(r.rdx == 0xffffffffffff8001ULL && r.rip == 0x2004,
	      "movsx: %llx", r.rdx);
	mvm_complete_read(&r, &ah, 0x1234);
	CHECK(r.rax == 0x3400 && r.rip == 0x3002, "ah: %llx", r.rax);
	mvm_complete_read(&r, &movsxd, 0x7fffffffULL);
	CHECK(r.r9 == 0x7fffffff, "movsxd positive: %llx", r.r9);
	mvm_complete_read(&r, &movsxd, 0x80000000ULL);
	CHECK(r.r9 == 0xffffffff80000000ULL, "movsxd negative: %llx", r.r9);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(mov_store_64),
	KTAP_CASE(mov_store_rip_relative),
	KTAP_CASE(mov_store_high8),
	KTAP_CASE(mov_load_rex_r_b),
	KTAP_CASE(mov_load_sib_disp8),
	KTAP_CASE(mov_imm32_sib_no_base),
	KTAP_CASE(mov_imm32_disp32_absolute),
	KTAP_CASE(mov_imm16_fs),
	KTAP_CASE(mov_imm8_gs),
	KTAP_CASE(moffs_64),
	KTAP_CASE(moffs_addr32_in_64),
	KTAP_CASE(movzx_64),
	KTAP_CASE(movsx_64),
	KTAP_CASE(movsxd_64),
	KTAP_CASE(stos_64),
	KTAP_CASE(sizes_in_64),
	KTAP_CASE(rex_position),
	KTAP_CASE(mov_32),
	KTAP_CASE(sib_no_base_32),
	KTAP_CASE(disp32_not_rip_relative_32),
	KTAP_CASE(imm32_disp32_32),
	KTAP_CASE(moffs_32),
	KTAP_CASE(moffs_addr16_in_32),
	KTAP_CASE(addr16_modrm_in_32),
	KTAP_CASE(movzx_movsx_32),
	KTAP_CASE(stos_32),
	KTAP_CASE(segment_prefixes),
	KTAP_CASE(last_segment_wins),
	KTAP_CASE(rep_prefixes),
	KTAP_CASE(mov_16),
	KTAP_CASE(disp16_16),
	KTAP_CASE(imm16_disp16_16),
	KTAP_CASE(moffs_16),
	KTAP_CASE(addr32_sib_in_16),
	KTAP_CASE(movzx_movsx_16),
	KTAP_CASE(stos_16),
	KTAP_CASE(reject_lock),
	KTAP_CASE(length_limit),
	KTAP_CASE(reject_unknown_opcode),
	KTAP_CASE(reject_register_operand),
	KTAP_CASE(reject_bad_mode),
	KTAP_CASE(reject_truncated),
	KTAP_CASE(trailing_bytes),
	KTAP_CASE(random_bytes),
	KTAP_CASE(skip_plain),
	KTAP_CASE(skip_prefixes),
	KTAP_CASE(skip_rejects),
	KTAP_CASE(prefixes_only),
	KTAP_CASE(gpr_numbering),
	KTAP_CASE(gpr_write_widths),
	KTAP_CASE(complete_read),
};

KTAP_MAIN(cases)
