// SPDX-License-Identifier: GPL-2.0
/*
 * Charging ALLOC buffers to a memory cgroup: which one (the caller's, or that
 * of the process a pidfd names) and the scope in which the block allocator
 * charges it.  See charge.h.
 */
#include <linux/file.h>
#include <linux/memcontrol.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "charge.h"
#include "dmabuf_sg.h"

/*
 * Keep the reference on @memcg unless it is the root memory cgroup, whose
 * pages are never charged (root_mem_cgroup is not exported; the root is the
 * one without a parent).
 */
static void dmabuf_sg_charge_set(struct dmabuf_sg_charge *charge,
				 struct mem_cgroup *memcg)
{
	if (memcg && !parent_mem_cgroup(memcg)) {
		mem_cgroup_put(memcg);
		memcg = NULL;
	}
	charge->memcg = memcg;
}

/**
 * dmabuf_sg_charge_get_caller() - charge the calling process
 * @charge: filled in; release with dmabuf_sg_charge_put().
 *
 * Return: 0.
 */
int dmabuf_sg_charge_get_caller(struct dmabuf_sg_charge *charge)
{
	dmabuf_sg_charge_set(charge, get_mem_cgroup_from_mm(current->mm));
	return 0;
}

/*
 * The memory cgroup of @pid's memory (its mm's owner's): what its own page
 * faults are charged to.  -ESRCH when the process is gone (reaped, or a
 * zombie: no mm any more) or has no memory of its own (a kernel thread).
 */
static int dmabuf_sg_charge_get_pid(struct dmabuf_sg_charge *charge,
				    struct pid *pid)
{
	struct task_struct *task;
	struct mm_struct *mm;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		return -ESRCH;
	dmabuf_sg_charge_set(charge, get_mem_cgroup_from_mm(mm));
	mmput(mm);
	return 0;
}

/**
 * dmabuf_sg_charge_get_pidfd() - charge the process a pidfd names
 * @charge: filled in on success; release with dmabuf_sg_charge_put().
 * @pidfd: a pidfd of the caller's.
 *
 * The pidfd must be open in the caller and the process must be visible in
 * the caller's pid namespace: only a process that could have opened the
 * pidfd itself may name it.
 *
 * Return: 0, -EBADF when @pidfd is not an open fd, -EINVAL when it is not a
 * pidfd, -ESRCH when the process has exited, has no memory of its own (a
 * kernel thread) or is not in the caller's pid namespace.
 */
int dmabuf_sg_charge_get_pidfd(struct dmabuf_sg_charge *charge, u32 pidfd)
{
	struct file *file;
	struct pid *pid;
	int ret;

	if (pidfd > INT_MAX)
		return -EBADF;
	file = fget(pidfd);
	if (!file)
		return -EBADF;
	pid = dmabuf_sg_pidfd_pid(file);
	if (!pid)
		ret = -EINVAL;
	else if (!pid_vnr(pid))
		ret = -ESRCH;
	else
		ret = dmabuf_sg_charge_get_pid(charge, pid);
	fput(file);
	return ret;
}

/**
 * dmabuf_sg_charge_put() - drop the memory cgroup reference
 * @charge: from dmabuf_sg_charge_get_*(), or put already (then nothing
 *	happens).  The pages allocated under it keep their charge.
 */
void dmabuf_sg_charge_put(struct dmabuf_sg_charge *charge)
{
	mem_cgroup_put(charge->memcg);
	charge->memcg = NULL;
}

/**
 * dmabuf_sg_charge_begin() - start charging @charge's memory cgroup
 * @charge: from dmabuf_sg_charge_get_*().
 *
 * Allocations with __GFP_ACCOUNT (dmabuf_sg_charge_gfp()) from here to
 * dmabuf_sg_charge_end() are charged to it, whatever cgroup the caller is
 * in.  A charge to no memory cgroup only clears the scope: its allocations
 * go without __GFP_ACCOUNT and are charged to nobody.
 *
 * Return: the previous scope, for dmabuf_sg_charge_end().
 */
struct mem_cgroup *dmabuf_sg_charge_begin(const struct dmabuf_sg_charge *charge)
{
	return set_active_memcg(charge->memcg);
}

/**
 * dmabuf_sg_charge_end() - end the scope dmabuf_sg_charge_begin() started
 * @old: its return value.
 */
void dmabuf_sg_charge_end(struct mem_cgroup *old)
{
	set_active_memcg(old);
}
