// SPDX-License-Identifier: MIT
/* The stub image built into bpfinject (stub/blob), and the check of its header. */
#include <errno.h>
#include <string.h>

#include "injector_internal.h"

extern const uint8_t bpfi_stub_image_start[];
extern const uint8_t bpfi_stub_image_end[];

int bpfi_stub_image(const uint8_t **ret_image, size_t *ret_size, struct bpfi_log *log)
{
	size_t size = (size_t)(bpfi_stub_image_end - bpfi_stub_image_start);
	struct bpfi_stub_header h;

	if (size < sizeof(h))
		return bpfi_log_err(log, -EINVAL, "bug: the built-in stub image is %zu bytes",
				    size);
	memcpy(&h, bpfi_stub_image_start, sizeof(h));
	if (h.magic != BPFI_STUB_MAGIC || h.version != 3 || h.size > size ||
	    h.helpers_fill >= h.size || h.dispatch_entry >= h.size || h.dispatch_return >= h.size ||
	    h.tail_call_target >= h.size || h.interp_run >= h.size || h.sigsys_handler >= h.size ||
	    h.sigsys_restorer >= h.size)
		return bpfi_log_err(log, -EINVAL, "bug: the built-in stub image has a bad header");
	*ret_image = bpfi_stub_image_start;
	*ret_size = h.size;
	return 0;
}
