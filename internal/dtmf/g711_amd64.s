//go:build amd64 && !purego

#include "textflag.h"

// G.711 decoding eight codes at a time, by arithmetic instead of the table
// (see g711.go): the same G.191 values, in 32-bit lanes, with no table to
// fetch into the cache. With u the code's complement (µ-law) and e, m its
// exponent and mantissa bits:
//
//	µ-law: ((m<<3) + 0x84) << e − 0x84
//	A-law (code ^ 0x55): ((m<<4) + 8 + (e>0 ? 0x100 : 0)) << max(e−1, 0)
//
// negated where the code's top bit is clear (the complement's is set).

// BCAST fills the dword lanes of Y with the constant v (through DX).
#define BCAST(v, X, Y) \
	MOVL         v, DX; \
	VMOVD        DX, X; \
	VPBROADCASTD X, Y

// STORE8 negates the magnitudes in Y2 where the complement of the code in
// Y0 has its top bit set, packs the eight to int16 at (DI), and steps SI
// and DI to the next eight.
#define STORE8 \
	VPSLLD       $24, Y0, Y3; \
	VPSRAD       $31, Y3, Y3; \
	VPXOR        Y3, Y2, Y2; \
	VPSUBD       Y3, Y2, Y2; \
	VEXTRACTI128 $1, Y2, X3; \
	VPACKSSDW    X3, X2, X2; \
	VMOVDQU      X2, (DI); \
	ADDQ         $8, SI; \
	ADDQ         $16, DI

// func decodeG711AVX2(dst *int16, src *byte, n int, alaw bool)
// n is a multiple of 8.
TEXT ·decodeG711AVX2(SB), NOSPLIT, $0-25
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	MOVBLZX alaw+24(FP), AX
	ADDQ    SI, CX // end of src

	BCAST($0xFF, X8, Y8)   // complement
	BCAST($0x0F, X9, Y9)   // mantissa mask
	BCAST($0x07, X10, Y10) // exponent mask
	VPXOR        Y11, Y11, Y11 // zero
	TESTQ        AX, AX
	JNZ          alaw

	BCAST($0x84, X12, Y12) // µ-law bias

ulaw:
	CMPQ         SI, CX
	JAE          done
	VPMOVZXBD    (SI), Y0
	VPXOR        Y8, Y0, Y0 // u = ^code
	VPSRLD       $4, Y0, Y1
	VPAND        Y10, Y1, Y1 // e
	VPAND        Y9, Y0, Y2  // m
	VPSLLD       $3, Y2, Y2
	VPADDD       Y12, Y2, Y2
	VPSLLVD      Y1, Y2, Y2
	VPSUBD       Y12, Y2, Y2 // magnitude
	STORE8
	JMP          ulaw

alaw:
	BCAST($0x55, X12, Y12)  // A-law's even-bit inversion
	BCAST($0x100, X13, Y13) // the implicit leading one
	BCAST($8, X14, Y14)     // half a step
	BCAST($1, X15, Y15)

aloop:
	CMPQ         SI, CX
	JAE          done
	VPMOVZXBD    (SI), Y0
	VPXOR        Y12, Y0, Y4 // code ^ 0x55
	VPSRLD       $4, Y4, Y1
	VPAND        Y10, Y1, Y1 // e
	VPAND        Y9, Y4, Y2  // m
	VPSLLD       $4, Y2, Y2
	VPADDD       Y14, Y2, Y2
	VPCMPGTD     Y11, Y1, Y3 // e > 0
	VPAND        Y13, Y3, Y3
	VPADDD       Y3, Y2, Y2
	VPSUBD       Y15, Y1, Y1
	VPMAXSD      Y11, Y1, Y1 // max(e−1, 0)
	VPSLLVD      Y1, Y2, Y2  // magnitude
	VPXOR        Y8, Y0, Y0  // the complement, for the sign
	STORE8
	JMP          aloop

done:
	VZEROUPPER
	RET
