//go:build amd64 && !purego

#include "textflag.h"

// The Goertzel kernel (see goertzel.go). A slot is 40 int16 samples; its
// eight recursions s ← (x − s₂) + 2cos(ω)·s₁ run in the eight float32 lanes
// of one YMM register, and four slots run side by side so that each step's
// multiply-add latency is hidden behind the other slots'. Each operation
// rounds on its own (no FMA), in goertzelSlotsGo's order, so the results are
// bit-identical to it. The energy Σx² is summed in exact 64-bit integers.
//
// slotAcc layout: s1 [8]float32 at 0, s2 [8]float32 at 32, blocks [5]int64
// at 64; 104 bytes.

// PREP converts one 1 ms block, eight samples at so(SI), to float32 at
// fo(R10) and stores the sum of their squares to eo(R11). A square is at
// most 2^30, exact in int32; the sum is taken in int64.
#define PREP(so, fo, eo) \
	VPMOVSXWD so(SI), Y0; \
	VCVTDQ2PS Y0, Y1; \
	VMOVUPS Y1, fo(R10); \
	VPMULLD Y0, Y0, Y2; \
	VEXTRACTI128 $1, Y2, X3; \
	VPMOVZXDQ X2, Y4; \
	VPMOVZXDQ X3, Y5; \
	VPADDQ Y4, Y5, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDQ X4, X5, X4; \
	VPSHUFD $0x4e, X4, X5; \
	VPADDQ X4, X5, X4; \
	VMOVQ X4, eo(R11)

// PREPSLOT does a whole slot: 40 samples, block energies stored from eo(R11).
#define PREPSLOT(so, fo, eo) \
	PREP(so, fo, eo); \
	PREP(so+16, fo+32, eo+8); \
	PREP(so+32, fo+64, eo+16); \
	PREP(so+48, fo+96, eo+24); \
	PREP(so+64, fo+128, eo+32)

// STEP is one recursion step of one slot: the newest value goes into S2,
// which then holds s₁ (the caller alternates the registers' roles).
#define STEP(off, S1, S2, X, U) \
	VBROADCASTSS off(R9)(R8*1), X; \
	VMULPS (DX), S1, U; \
	VSUBPS S2, X, X; \
	VADDPS U, X, S2

// func goertzel4AVX2(pcm *int16, twoCos *[8]float32, acc *slotAcc)
TEXT ·goertzel4AVX2(SB), 0, $640-24
	MOVQ pcm+0(FP), SI
	MOVQ twoCos+8(FP), DX
	MOVQ acc+16(FP), DI
	LEAQ buf-640(SP), R9
	MOVQ R9, R10
	MOVQ DI, R11
	MOVQ $4, R12

prep4: // one slot a turn: a loop, not four copies, keeps the code that a
	// packet runs cold in the relay short
	PREPSLOT(0, 0, 64)
	ADDQ $80, SI
	ADDQ $160, R10
	ADDQ $104, R11
	DECQ R12
	JNZ  prep4

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ R8, R8 // byte offset of the sample pair within each slot's floats

loop4:
	STEP(0, Y0, Y4, Y8, Y12)
	STEP(160, Y1, Y5, Y9, Y13)
	STEP(320, Y2, Y6, Y10, Y14)
	STEP(480, Y3, Y7, Y11, Y15)
	STEP(4, Y4, Y0, Y8, Y12)
	STEP(164, Y5, Y1, Y9, Y13)
	STEP(324, Y6, Y2, Y10, Y14)
	STEP(484, Y7, Y3, Y11, Y15)
	ADDQ $8, R8
	CMPQ R8, $160
	JLT  loop4

	// An even number of steps: Y0-Y3 hold s₁, Y4-Y7 s₂.
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y4, 32(DI)
	VMOVUPS Y1, 104(DI)
	VMOVUPS Y5, 136(DI)
	VMOVUPS Y2, 208(DI)
	VMOVUPS Y6, 240(DI)
	VMOVUPS Y3, 312(DI)
	VMOVUPS Y7, 344(DI)
	VZEROUPPER
	RET

// func goertzel1AVX2(pcm *int16, twoCos *[8]float32, acc *slotAcc)
TEXT ·goertzel1AVX2(SB), NOSPLIT, $160-24
	MOVQ pcm+0(FP), SI
	MOVQ twoCos+8(FP), DX
	MOVQ acc+16(FP), DI
	LEAQ buf-160(SP), R9
	MOVQ R9, R10
	MOVQ DI, R11
	PREPSLOT(0, 0, 64)

	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	XORQ R8, R8

loop1:
	STEP(0, Y0, Y4, Y8, Y12)
	STEP(4, Y4, Y0, Y8, Y12)
	ADDQ $8, R8
	CMPQ R8, $160
	JLT  loop1

	VMOVUPS Y0, 0(DI)
	VMOVUPS Y4, 32(DI)
	VZEROUPPER
	RET

// The per-slot arithmetic after the kernel, eight frequencies a register,
// each operation rounded on its own in the Go versions' order (goertzel.go),
// so bit-identical to them (TestSlotMathMatchesGo).
//
// slot layout: re [8]float32 at 0, im at 32, energy float32 at 64.
// bankCoef layout: cos at 32, sin at 64, rotRe at 96, rotIm at 128, rot2Re
// at 160, rot2Im at 192, rot3Re at 224, rot3Im at 256.
//
// Every instruction here is VEX-encoded: a legacy SSE one (CVTSQ2SS, MOVSS)
// after the 256-bit ones costs this CPU a state transition, which made
// Detect 2.2 times slower.

// TURN adds the slot at p, turned by the rotation whose real and
// imaginary parts are at RE(CX) and IM(CX), to the running sum in Y0 (re)
// and Y1 (im): re += s.re·RE − s.im·IM, im += s.re·IM + s.im·RE, in that
// order.
#define TURN(p, RE, IM) \
	VMOVUPS (p), Y2; \
	VMOVUPS 32(p), Y3; \
	VMULPS  RE(CX), Y2, Y8; \
	VADDPS  Y8, Y0, Y0; \
	VMULPS  IM(CX), Y3, Y8; \
	VSUBPS  Y8, Y0, Y0; \
	VMULPS  IM(CX), Y2, Y9; \
	VADDPS  Y9, Y1, Y1; \
	VMULPS  RE(CX), Y3, Y9; \
	VADDPS  Y9, Y1, Y1

// POWER leaves |re|² + |im|² of Y0, Y1 in Y0.
#define POWER \
	VMULPS  Y0, Y0, Y0; \
	VMULPS  Y1, Y1, Y1; \
	VADDPS  Y1, Y0, Y0

// MAXES puts in AX the largest row power of Y0 (lanes 0-3) and in BX the
// largest column power (lanes 4-7), as bit patterns, an unsigned integer
// max as maxBits takes it; Y1 holds each half's max in all its lanes. The
// caller reads them from registers: a load of one float right after the
// vector store of all eight waits for the store to complete when it
// straddles a cache line, which a ring of 40-byte entries often does.
#define MAXES \
	VPSHUFD      $0x4e, Y0, Y1; \
	VPMAXUD      Y1, Y0, Y1; \
	VPSHUFD      $0xb1, Y1, Y2; \
	VPMAXUD      Y2, Y1, Y1; \
	VMOVD        X1, AX; \
	VEXTRACTI128 $1, Y1, X2; \
	VMOVD        X2, BX

// func finishAVX2(a *slotAcc, out *slot, pw *[8]float32, c *bankCoef) (row, col uint32)
TEXT ·finishAVX2(SB), NOSPLIT, $0-40
	MOVQ      a+0(FP), SI
	MOVQ      out+8(FP), DI
	MOVQ      pw+16(FP), DX
	MOVQ      c+24(FP), CX
	VMOVUPS   32(SI), Y1      // s2
	VMULPS    32(CX), Y1, Y2  // cos·s2
	VMOVUPS   (SI), Y0
	VSUBPS    Y2, Y0, Y0      // re = s1 − cos·s2
	VMULPS    64(CX), Y1, Y1  // im = sin·s2
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y1, 32(DI)
	POWER
	VMOVUPS   Y0, (DX)
	MAXES
	MOVL      AX, row+32(FP)
	MOVL      BX, col+36(FP)
	MOVQ      64(SI), AX      // the blocks' energies, summed in order
	ADDQ      72(SI), AX
	ADDQ      80(SI), AX
	ADDQ      88(SI), AX
	ADDQ      96(SI), AX
	VCVTSI2SSQ AX, X2, X2
	VMOVSS    X2, 64(DI)
	VZEROUPPER
	RET

// func windowPowAVX2(s0, s1, s2, s3 *slot, c *bankCoef) (r, col int, top float32)
TEXT ·windowPowAVX2(SB), NOSPLIT, $0-60
	MOVQ    s0+0(FP), AX
	MOVQ    s1+8(FP), BX
	MOVQ    s2+16(FP), SI
	MOVQ    s3+24(FP), DI
	MOVQ    c+32(FP), CX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	TURN(BX, 96, 128)
	TURN(SI, 160, 192)
	TURN(DI, 224, 256)
	POWER
	MAXES
	VPCMPEQD  Y1, Y0, Y3 // the lanes that hold their half's max
	VMOVMSKPS Y3, DX
	MOVL      DX, CX
	ANDL      $15, CX
	BSFL      CX, CX     // the first row lane with the max
	SHRL      $4, DX
	BSFL      DX, DX
	ADDL      $4, DX     // and column lane
	MOVQ      CX, r+40(FP)
	MOVQ      DX, col+48(FP)
	VMOVD     AX, X4
	VMOVD     BX, X5
	VADDSS    X5, X4, X4
	VMOVSS    X4, top+56(FP)
	VZEROUPPER
	RET

// func pairPowAVX2(a, b *slot, c *bankCoef) (row, col uint32)
TEXT ·pairPowAVX2(SB), NOSPLIT, $0-32
	MOVQ    a+0(FP), AX
	MOVQ    b+8(FP), BX
	MOVQ    c+16(FP), CX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	TURN(BX, 96, 128)
	POWER
	MAXES
	MOVL    AX, row+24(FP)
	MOVL    BX, col+28(FP)
	VZEROUPPER
	RET
