// SPDX-License-Identifier: MIT
/*
 * Giving the target memory we share with it: a file descriptor passed over a unix socket
 * (SCM_RIGHTS), then mapped by a remote mmap. The arena goes in read-write; code goes in
 * read-execute while we keep the only writable mapping (W^X holds in the target).
 *
 * Why SCM_RIGHTS rather than the target opening /proc/OURPID/fd/N: that open is checked
 * against the target's credentials over us, and fails when we are root and it is not.
 * Passing the fd needs nothing from the target but a socket. A target whose seccomp filter
 * forbids the socket calls (remote.c refuses to make a call that would kill it) opens
 * /proc/OURPID/fd/N instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "injector_internal.h"

/* Layout of the scratch page in the target during an fd transfer. */
struct scratch_layout {
	struct sockaddr_un addr;
	struct msghdr msg;
	struct iovec iov;
	char byte;
	char pad[7];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cmsg;
};

static int remote(struct bpfi_injector *inj, long nr, long a0, long a1, long a2, long a3, long a4,
		  long a5, long *ret, struct bpfi_log *log)
{
	long args[6] = { a0, a1, a2, a3, a4, a5 };

	return bpfi_injector_syscall(inj, nr, args, 6, ret, log);
}

/* A private page in the target for the arguments of our remote calls. */
static int ensure_scratch(struct bpfi_injector *inj, struct bpfi_log *log)
{
	long addr;
	int err;

	if (inj->scratch)
		return 0;
	err = remote(inj, SYS_mmap, 0, BPFI_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &addr, log);
	if (err)
		return err;
	if ((unsigned long)addr > -4096UL)
		return bpfi_log_err(log, (int)addr, "mmap in process %d: %s", inj->pid,
				    strerror((int)-addr));
	inj->scratch = (uint64_t)addr;
	return 0;
}

/* The listening socket on our side: abstract, named after us so that only we answer. */
static int listen_socket(struct sockaddr_un *addr, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* sun_path[0] = 0: the abstract namespace; no file is created. */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
					    "bpfinject-%d-%lx", (int)getpid(), (long)random()));
	if (bind(fd, (struct sockaddr *)addr, *len) || listen(fd, 1)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int send_one_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u)); /* the padding after the fd goes out too */
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Builds the recvmsg arguments in the scratch page, as the target will see them. */
static void fill_scratch(struct scratch_layout *s, uint64_t base, const struct sockaddr_un *addr)
{
	memset(s, 0, sizeof(*s));
	s->addr = *addr;
	s->iov.iov_base = (void *)(uintptr_t)(base + offsetof(struct scratch_layout, byte));
	s->iov.iov_len = 1;
	s->msg.msg_iov = (struct iovec *)(uintptr_t)(base + offsetof(struct scratch_layout, iov));
	s->msg.msg_iovlen = 1;
	s->msg.msg_control = (void *)(uintptr_t)(base + offsetof(struct scratch_layout, cmsg));
	s->msg.msg_controllen = sizeof(s->cmsg.buf);
}

static int send_fd_socket(struct bpfi_injector *inj, int fd, int *ret_target_fd,
			  struct bpfi_log *log)
{
	struct sockaddr_un addr;
	struct scratch_layout s;
	struct cmsghdr *c;
	socklen_t alen = 0;
	long sock = -1, r;
	int lfd, conn = -1, err;

	lfd = listen_socket(&addr, &alen);
	if (lfd < 0)
		return bpfi_log_err(log, lfd, "unix socket for passing an fd: %s", strerror(-lfd));
	fill_scratch(&s, inj->scratch, &addr);
	err = bpfi_injector_write(inj, inj->scratch, &s, sizeof(s), log);
	if (!err)
		err = remote(inj, SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0,
			     &sock, log);
	if (!err && sock < 0)
		err = bpfi_log_err(log, (int)sock, "socket() in process %d: %s", inj->pid,
				   strerror((int)-sock));
	if (!err)
		err = remote(inj, SYS_connect, sock, (long)inj->scratch, alen, 0, 0, 0, &r, log);
	if (!err && r < 0)
		err = bpfi_log_err(log, (int)r, "connect() in process %d: %s", inj->pid,
				   strerror((int)-r));
	if (!err) {
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0 || send_one_fd(conn, fd))
			err = bpfi_log_err(log, -errno, "passing an fd to process %d: %s", inj->pid,
					   strerror(errno));
	}
	if (!err)
		err = remote(inj, SYS_recvmsg, sock,
			     (long)(inj->scratch + offsetof(struct scratch_layout, msg)),
			     MSG_CMSG_CLOEXEC, 0, 0, 0, &r, log);
	if (!err && r != 1)
		err = bpfi_log_err(log, r < 0 ? (int)r : -EIO,
				   "recvmsg() in process %d returned %ld", inj->pid, r);
	if (!err)
		err = bpfi_injector_read(inj, inj->scratch, &s, sizeof(s), log);
	if (!err) {
		/* The kernel rewrote msg_control's contents in the target: read the new fd. */
		s.msg.msg_control = s.cmsg.buf;
		c = CMSG_FIRSTHDR(&s.msg);
		if (!c || c->cmsg_type != SCM_RIGHTS)
			err = bpfi_log_err(log, -EIO, "process %d received no fd", inj->pid);
		else
			memcpy(ret_target_fd, CMSG_DATA(c), sizeof(int));
	}
	if (sock >= 0)
		remote(inj, SYS_close, sock, 0, 0, 0, 0, 0, &r, NULL);
	if (conn >= 0)
		close(conn);
	close(lfd);
	return err;
}

/* The target opens our fd through /proc/OURPID/fd/N itself (same inode, its own file). */
static int send_fd_proc(struct bpfi_injector *inj, int fd, int *ret_target_fd, struct bpfi_log *log)
{
	char path[64];
	int n, err;
	long r;

	n = snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), fd);
	err = bpfi_injector_write(inj, inj->scratch, path, (size_t)n + 1, log);
	if (!err)
		err = remote(inj, SYS_openat, AT_FDCWD, (long)inj->scratch, O_RDWR | O_CLOEXEC, 0,
			     0, 0, &r, log);
	if (!err && r < 0)
		err = bpfi_log_err(log, (int)r, "open(\"%s\") in process %d: %s", path, inj->pid,
				   strerror((int)-r));
	if (!err)
		*ret_target_fd = (int)r;
	return err;
}

int bpfi_injector_send_fd(struct bpfi_injector *inj, int fd, int *ret_target_fd,
			  struct bpfi_log *log)
{
	char first[256] = "", second[256] = "";
	struct bpfi_log log1 = { .buf = first, .size = sizeof(first) };
	struct bpfi_log log2 = { .buf = second, .size = sizeof(second) };
	int err;

	err = ensure_scratch(inj, log);
	if (err)
		return err;
	err = send_fd_socket(inj, fd, ret_target_fd, &log1);
	first[strcspn(first, "\n")] = '\0';
	if (err == -ESRCH)
		return bpfi_log_err(log, err, "%s", first);
	if (!err)
		return 0;
	/* No socket (a seccomp filter, most likely): the other way, saying both if it fails. */
	err = send_fd_proc(inj, fd, ret_target_fd, &log2);
	second[strcspn(second, "\n")] = '\0';
	if (err)
		return bpfi_log_err(log, err, "%s; and %s", first, second);
	return 0;
}

/*
 * A free range of @size bytes within rel32 reach (±2 GiB, with a margin) of @near, from the
 * gaps between the target's mappings. 0 when @near is 0 (anywhere will do) or none fits.
 */
uint64_t injector__gap_near(pid_t pid, uint64_t near, uint64_t size)
{
	const uint64_t reach = (2ull << 30) - (64ull << 20);
	char path[64], line[1024];
	uint64_t prev_end = 0x10000, best = 0, best_dist = UINT64_MAX;
	FILE *f;

	if (!near)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		uint64_t cand, dist;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (start > prev_end && start - prev_end >= size + 0x2000) {
			/* The end of the gap nearest to @near, a guard page from the neighbours. */
			if (near < prev_end)
				cand = prev_end + 0x1000;
			else
				cand = start - 0x1000 - size;
			dist = cand > near ? cand - near : near - cand;
			if (dist < reach && dist < best_dist) {
				best = cand;
				best_dist = dist;
			}
		}
		prev_end = end;
	}
	fclose(f);
	return best;
}

int bpfi_injector_map_fd(struct bpfi_injector *inj, int target_fd, size_t size, int prot,
			 uint64_t near, uint64_t *ret_addr, struct bpfi_log *log)
{
	uint64_t hint = injector__gap_near(inj->pid, near, size);
	long addr;
	int err;

	if (near && !hint)
		return bpfi_log_err(
			log, -ENOMEM,
			"process %d: no free range within 2 GiB of 0x%llx for %zu bytes", inj->pid,
			(unsigned long long)near, size);
	err = remote(inj, SYS_mmap, (long)hint, (long)size, prot,
		     MAP_SHARED | (hint ? MAP_FIXED_NOREPLACE : 0), target_fd, 0, &addr, log);
	if (err)
		return err;
	if ((unsigned long)addr > -4096UL)
		return bpfi_log_err(log, (int)addr, "mmap in process %d: %s", inj->pid,
				    strerror((int)-addr));
	if (hint && (uint64_t)addr != hint) {
		long r;

		/* An old kernel ignoring MAP_FIXED_NOREPLACE: the mapping is not where we need it. */
		remote(inj, SYS_munmap, addr, (long)size, 0, 0, 0, 0, &r, NULL);
		return bpfi_log_err(log, -ENOMEM, "process %d: could not map near 0x%llx", inj->pid,
				    (unsigned long long)near);
	}
	*ret_addr = (uint64_t)addr;
	return 0;
}
