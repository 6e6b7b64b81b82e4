// SPDX-License-Identifier: MIT
/*
 * The stub image as a target runs it: mapped read-execute at an address of its own, called
 * only through the offsets in its header. Its helpers, its interpreter and its dispatch must
 * work there exactly as the hosted builds do.
 */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpfinject/helpers.h>
#include <bpfinject/injector.h>
#include <bpfinject/jit.h>
#include <bpfinject/target.h>

struct image {
	uint8_t *base;
	size_t size;
	struct bpfi_stub_header h;
};

static void image_map(struct image *img)
{
	const uint8_t *bytes;
	char buf[256] = "";
	struct bpfi_log log = { .buf = buf, .size = sizeof(buf) };

	ck_assert_msg(bpfi_stub_image(&bytes, &img->size, &log) == 0, "%s", buf);
	img->base =
		mmap(NULL, img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(img->base, MAP_FAILED);
	memcpy(img->base, bytes, img->size);
	ck_assert_int_eq(mprotect(img->base, img->size, PROT_READ | PROT_EXEC), 0);
	memcpy(&img->h, img->base, sizeof(img->h));
}

START_TEST(image_is_small_and_valid)
{
	struct image img;

	image_map(&img);
	ck_assert_uint_eq(img.h.magic, BPFI_STUB_MAGIC);
	/* "a few tens of KiB" (issue 3): keep an eye on it. */
	ck_assert_uint_lt(img.size, 96 * 1024);
	munmap(img.base, img.size);
}
END_TEST

START_TEST(image_helpers_match_hosted)
{
	bpfi_helper_fn hosted[BPFI_HELPER_MAX] = { 0 }, image[BPFI_HELPER_MAX] = { 0 };
	struct image img;
	void (*fill)(bpfi_helper_fn *);
	struct bpfi_env env = { .unwind_helper_id = -1 };
	uint64_t pid_tgid;

	image_map(&img);
	fill = (void (*)(bpfi_helper_fn *))(uintptr_t)(img.base + img.h.helpers_fill);
	fill(image);
	bpfi_helpers_fill(hosted);
	for (int id = 0; id < BPFI_HELPER_MAX; id++) {
		ck_assert_msg(!hosted[id] == !image[id], "helper %d differs", id);
		if (image[id])
			ck_assert_msg((uint8_t *)(uintptr_t)image[id] >= img.base &&
					      (uint8_t *)(uintptr_t)image[id] < img.base + img.size,
				      "helper %d points outside the image", id);
	}
	/* bpf_get_current_pid_tgid, run from the image. */
	env.helpers = image;
	pid_tgid = image[14](0, 0, 0, 0, 0, &env);
	ck_assert_uint_eq(pid_tgid >> 32, (uint64_t)getpid());
	ck_assert_uint_eq(pid_tgid & 0xffffffff, (uint64_t)syscall(SYS_gettid));
	munmap(img.base, img.size);
}
END_TEST

START_TEST(image_interpreter_runs_programs)
{
	/* r0 = get_current_pid_tgid(); r0 >>= 32; exit */
	const struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = 14 },
		{ .code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = 0, .imm = 32 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	bpfi_helper_fn table[BPFI_HELPER_MAX] = { 0 };
	struct bpfi_env env = { .unwind_helper_id = -1, .helpers = table };
	int (*run)(const struct bpf_insn *, uint32_t, uint64_t, uint64_t, const struct bpfi_env *,
		   uint64_t *);
	struct image img;
	uint64_t r0 = 0;

	image_map(&img);
	((void (*)(bpfi_helper_fn *))(uintptr_t)(img.base + img.h.helpers_fill))(table);
	run = (int (*)(const struct bpf_insn *, uint32_t, uint64_t, uint64_t,
		       const struct bpfi_env *,
		       uint64_t *))(uintptr_t)(img.base + img.h.interp_run);
	ck_assert_int_eq(run(prog, 3, 0, 0, &env, &r0), 0);
	ck_assert_uint_eq(r0, (uint64_t)getpid());
	munmap(img.base, img.size);
}
END_TEST

Suite *stub_suite(void);
Suite *stub_suite(void)
{
	Suite *s = suite_create("stub");
	TCase *tc = tcase_create("image");

	tcase_add_test(tc, image_is_small_and_valid);
	tcase_add_test(tc, image_helpers_match_hosted);
	tcase_add_test(tc, image_interpreter_runs_programs);
	suite_add_tcase(s, tc);
	return s;
}
