/* SPDX-License-Identifier: MIT */
/* Inside the shim: the interposed calls (preload.c) and the targets they serve (targets.c). */
#ifndef BPFI_SHIM_INTERNAL_H
#define BPFI_SHIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* The targets read from BPFINJECT_PIDS; nothing at all without it. */
void shim__start(void);
/* The runtime, up from the first call that needs it: false when the shim is not on. */
bool shim__runtime(void);
/* Every target carries what the tool has attached so far (injected again when that changed). */
void shim__sync(void);
/* Every target put back as it was: the tool is exiting. */
void shim__stop(void);
/* The text of a syscall tracepoint's id file under tracefs, from the built-in table. */
bool shim__tracepoint_id_text(const char *path, char *text, size_t size);
/* Is @path a syscall tracepoint's format or id file (there or not, the event exists)? */
bool shim__tracepoint_exists(const char *path);

#endif
