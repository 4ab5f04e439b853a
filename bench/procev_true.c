/* SPDX-License-Identifier: ISC */
/*
 * procev_true.c - the cheapest program to exec, for bench/procev_load: it
 * exits 0 at once, with no C library and no dynamic loader (the Makefile
 * links it -static -nostdlib), so a fork+exec loop measures the kernel's
 * process creation and sysqd, not ld.so.  Linux, x86-64 and arm64.
 */
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov $60, %eax\n\txor %edi, %edi\n\tsyscall\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tmov x0, #0\n\tmov x8, #93\n\tsvc #0\n");
#else
#error "procev_true: x86-64 or arm64 Linux only"
#endif
