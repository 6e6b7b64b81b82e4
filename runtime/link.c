// SPDX-License-Identifier: MIT
/*
 * BPF_PERF_EVENT links: LINK_CREATE, LINK_DETACH, their info, and the list of recorded
 * attachments (a program on a tracepoint or uprobe event) that the CLI and tests read.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "runtime_internal.h"

/* The uprobe PMU's config bit 0: a return probe. */
#define UPROBE_CONFIG_RETPROBE (1ULL << 0)

/* bpf_perf_link_attach(): the program onto one of our perf events, as a link. */
static int link_perf_event(struct rt_obj *prog, const union bpf_attr *attr)
{
	struct rt_obj *perf, *link;
	int err, fd;

	if (attr->link_create.flags)
		return -EINVAL;
	perf = runtime__obj_get_fd((int)attr->link_create.target_fd, RT_PERF);
	if (!perf)
		return -EBADF;
	err = runtime__perf_attach_prog(perf, prog, attr->link_create.perf_event.bpf_cookie);
	if (err) {
		runtime__obj_put(perf);
		return err;
	}
	err = runtime__obj_new(RT_LINK, "bpf_link", &link, &fd);
	if (err) {
		/* Undo: the event drops the program, the caller keeps its own reference. */
		pthread_mutex_lock(&runtime__rt.lock);
		perf->perf.prog_id = 0;
		pthread_mutex_unlock(&runtime__rt.lock);
		runtime__obj_put(perf);
		return err;
	}
	pthread_mutex_lock(&runtime__rt.lock);
	link->link.prog_id = prog->id;
	link->link.attach_type = BPF_PERF_EVENT;
	link->link.perf_id = perf->id; /* the link keeps the event's reference */
	pthread_mutex_unlock(&runtime__rt.lock);
	return fd;
}

int runtime__link_create(void *uattr, unsigned int size)
{
	const union bpf_attr *attr = uattr;
	uint32_t attach_type = attr->link_create.attach_type;
	struct rt_obj *prog;
	int err;

	err = runtime__obj_lookup_fd((int)attr->link_create.prog_fd, RT_PROG, &prog);
	if (err)
		return err;
	switch (prog->prog.type) {
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_TRACEPOINT:
		err = attach_type == BPF_PERF_EVENT ? 0 : -EINVAL;
		break;
	case BPF_PROG_TYPE_KPROBE:
		if (attach_type == BPF_TRACE_KPROBE_MULTI)
			err = -EOPNOTSUPP; /* a kernel without CONFIG_FPROBE */
		else
			err = attach_type == BPF_PERF_EVENT ? 0 : -EINVAL;
		break;
	default:
		/* An attach type of another program type, or unknown, is -EINVAL; cgroup, XDP,
		 * tracing, iterator ... links are not part of this runtime. */
		if (attach_type == BPF_PERF_EVENT || attach_type == BPF_TRACE_KPROBE_MULTI ||
		    attach_type >= __MAX_BPF_ATTACH_TYPE)
			err = -EINVAL;
		else
			err = -EOPNOTSUPP;
		break;
	}
	if (!err)
		err = link_perf_event(prog, attr);
	/* On success the event holds the program under its id, with this reference. */
	if (err < 0)
		runtime__obj_put(prog);
	return err;
}

/* Takes the link off its event: the event drops its program and the link its event. */
static void link_detach_obj(struct rt_obj *link)
{
	struct rt_obj *perf;
	uint32_t perf_id;

	pthread_mutex_lock(&runtime__rt.lock);
	perf_id = link->link.perf_id;
	link->link.perf_id = 0;
	pthread_mutex_unlock(&runtime__rt.lock);
	if (!perf_id)
		return;
	perf = runtime__obj_get_id(perf_id, RT_PERF);
	if (!perf)
		return;
	runtime__perf_detach_prog(perf);
	runtime__obj_put(perf); /* the lookup's reference */
	runtime__obj_put(perf); /* the link's */
}

/*
 * LINK_DETACH: the link stays a valid fd but no longer attaches anything. (Kernel perf links
 * have no detach operation; here it is the way to detach without closing every fd.)
 */
int runtime__link_detach(void *uattr, unsigned int size)
{
	const union bpf_attr *attr = uattr;
	struct rt_obj *link;
	int err;

	err = runtime__obj_lookup_fd((int)attr->link_detach.link_fd, RT_LINK, &link);
	if (err)
		return err;
	link_detach_obj(link);
	runtime__obj_put(link);
	return 0;
}

void runtime__link_release(struct rt_obj *obj)
{
	link_detach_obj(obj);
}

/* bpf_link_get_info_by_fd(): type, id and program. */
int runtime__link_get_info(struct rt_obj *obj, void *uinfo, uint32_t *info_len)
{
	struct bpf_link_info info;

	memset(&info, 0, sizeof(info));
	pthread_mutex_lock(&runtime__rt.lock);
	info.type = BPF_LINK_TYPE_PERF_EVENT;
	info.id = obj->id;
	info.prog_id = obj->link.prog_id;
	pthread_mutex_unlock(&runtime__rt.lock);
	return runtime__info_copy_out(uinfo, info_len, &info, sizeof(info));
}

/* The link (if any) that holds perf event @perf_id; runtime__rt.lock held. */
static uint32_t link_of_perf(uint32_t perf_id)
{
	for (uint32_t i = 0; i < runtime__rt.nr_objs; i++) {
		const struct rt_obj *obj = runtime__rt.objs[i];

		if (obj && obj->kind == RT_LINK && obj->link.perf_id == perf_id)
			return obj->id;
	}
	return 0;
}

/* A copy of every attachment, taken under the lock so that @fn runs without it. */
static int snapshot_attach(struct bpfi_runtime_attach **ret_list, uint32_t *ret_nr)
{
	struct bpfi_runtime_attach *list = NULL;
	uint32_t nr = 0, cap = 0;
	int uprobe_type = runtime__uprobe_pmu_type();
	int err = 0;

	pthread_mutex_lock(&runtime__rt.lock);
	for (uint32_t i = 0; i < runtime__rt.nr_objs && !err; i++) {
		const struct rt_obj *obj = runtime__rt.objs[i];
		struct bpfi_runtime_attach *a;

		if (!obj || obj->kind != RT_PERF || !obj->perf.prog_id)
			continue;
		if (nr == cap) {
			void *grown;

			cap = cap ? cap * 2 : 16;
			grown = reallocarray(list, cap, sizeof(*list));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			list = grown;
		}
		a = &list[nr++];
		memset(a, 0, sizeof(*a));
		a->perf_id = obj->id;
		a->prog_id = obj->perf.prog_id;
		a->link_id = link_of_perf(obj->id);
		a->perf_type = obj->perf.type;
		a->config = obj->perf.config;
		a->cookie = obj->perf.cookie;
		a->pid = obj->perf.pid;
		a->cpu = obj->perf.cpu;
		a->enabled = obj->perf.enabled;
		a->uprobe = uprobe_type >= 0 && obj->perf.type == (uint32_t)uprobe_type;
		a->retprobe = a->uprobe && (obj->perf.config & UPROBE_CONFIG_RETPROBE);
		a->offset = a->uprobe ? obj->perf.config2 : 0;
		a->name = obj->perf.path ? strdup(obj->perf.path) : NULL;
		if (obj->perf.path && !a->name)
			err = -ENOMEM;
	}
	pthread_mutex_unlock(&runtime__rt.lock);
	*ret_list = list;
	*ret_nr = nr;
	return err;
}

int bpfi_runtime_foreach_attach(int (*fn)(const struct bpfi_runtime_attach *attach, void *cookie),
				void *cookie)
{
	struct bpfi_runtime_attach *list;
	uint32_t nr, i;
	int err;

	err = snapshot_attach(&list, &nr);
	for (i = 0; !err && i < nr; i++) {
		if (fn(&list[i], cookie))
			break;
	}
	if (!err)
		err = (int)BPFI_MIN(i + 1, nr);
	for (uint32_t j = 0; j < nr; j++)
		free((char *)list[j].name);
	free(list);
	return err;
}
