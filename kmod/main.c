// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg: scatter-gather allocation and user-memory pinning exported as
 * dma-bufs, and views of them.  This file holds the module parameters, the
 * ioctls of the misc device /dev/dmabuf_sg, and module init/exit.
 */
#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-heap.h>

#include "dmabuf_sg.h"
#include "pool.h"

#define DMABUF_SG_DEFAULT_MAX_ORDER \
	(DMABUF_SG_MAX_PAGE_ORDER < 10 ? DMABUF_SG_MAX_PAGE_ORDER : 10)

unsigned int dmabuf_sg_max_order = DMABUF_SG_DEFAULT_MAX_ORDER;
unsigned long dmabuf_sg_max_buffer_bytes = SZ_1G;
unsigned long dmabuf_sg_max_total_bytes;

static int dmabuf_sg_param_set_order(const char *val,
				     const struct kernel_param *kp)
{
	unsigned int order;
	int ret;

	ret = kstrtouint(val, 0, &order);
	if (ret)
		return ret;
	if (order > DMABUF_SG_MAX_PAGE_ORDER)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, order);
	return 0;
}

static const struct kernel_param_ops dmabuf_sg_param_order_ops = {
	.set = dmabuf_sg_param_set_order,
	.get = param_get_uint,
};

module_param_cb(max_order, &dmabuf_sg_param_order_ops, &dmabuf_sg_max_order, 0644);
MODULE_PARM_DESC(max_order, "Largest block order ALLOC takes (0.." __stringify(DMABUF_SG_MAX_PAGE_ORDER) ", default 10)");
module_param_named(max_buffer_bytes, dmabuf_sg_max_buffer_bytes, ulong, 0644);
MODULE_PARM_DESC(max_buffer_bytes, "Largest buffer in bytes, ALLOC or PIN (default 1 GiB)");
module_param_named(max_total_bytes, dmabuf_sg_max_total_bytes, ulong, 0644);
MODULE_PARM_DESC(max_total_bytes, "Cap on the bytes of all live buffers (0 at load: half of RAM)");

static int dmabuf_sg_check_fd_flags(u32 fd_flags)
{
	if (fd_flags & ~(O_CLOEXEC | O_ACCMODE))
		return -EINVAL;
	if ((fd_flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return 0;
}

static int dmabuf_sg_check_name(const char *name)
{
	return memchr(name, '\0', DMABUF_SG_NAME_LEN) ? 0 : -EINVAL;
}

/*
 * Hand a new dma-buf to userspace: reserve an fd, write the reply with it,
 * and only then install it, so a failed copy leaves no fd behind.  Consumes
 * the caller's reference on @dmabuf.
 */
static int dmabuf_sg_reply_fd(struct dma_buf *dmabuf, u32 fd_flags,
			      void __user *uarg, const void *karg, size_t size,
			      u32 *fd_field)
{
	int fd;

	fd = get_unused_fd_flags(fd_flags & O_CLOEXEC);
	if (fd < 0)
		goto err_put_dmabuf;
	*fd_field = fd;
	if (copy_to_user(uarg, karg, size))
		goto err_put_fd;
	fd_install(fd, dmabuf->file);
	return 0;

err_put_fd:
	put_unused_fd(fd);
	fd = -EFAULT;
err_put_dmabuf:
	dma_buf_put(dmabuf);
	return fd;
}

static struct dma_buf *dmabuf_sg_alloc_export(u64 size, u32 flags, u32 pidfd,
					      const struct dmabuf_sg_export *exp,
					      u32 *sg_entries)
{
	struct dmabuf_sg_buffer *buf;

	/* Before anything rounds it up to pages, which could wrap. */
	if (size > DMABUF_SG_MAX_BYTES)
		return ERR_PTR(-EFBIG);
	buf = dmabuf_sg_alloc_create(size, flags, pidfd);
	if (IS_ERR(buf))
		return ERR_CAST(buf);
	if (sg_entries)
		*sg_entries = buf->table.orig_nents;
	return dmabuf_sg_buffer_export(buf, exp);
}

static long dmabuf_sg_ioctl_alloc(void __user *uarg)
{
	struct dmabuf_sg_export exp;
	struct dmabuf_sg_alloc arg;
	struct dma_buf *dmabuf;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.reserved || dmabuf_sg_check_fd_flags(arg.fd_flags) ||
	    dmabuf_sg_check_name(arg.name))
		return -EINVAL;
	if (arg.pidfd && !(arg.flags & DMABUF_SG_ALLOC_CHARGE_PIDFD))
		return -EINVAL;

	exp.fd_flags = arg.fd_flags;
	exp.name = arg.name;
	dmabuf = dmabuf_sg_alloc_export(arg.size, arg.flags, arg.pidfd, &exp,
					&arg.sg_entries);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	return dmabuf_sg_reply_fd(dmabuf, arg.fd_flags, uarg, &arg, sizeof(arg),
				  &arg.fd);
}

/*
 * DMA_HEAP_IOCTL_ALLOC answered as the kernel's dma-heap core answers it
 * (drivers/dma-buf/dma-heap.c), so that clients built against older or
 * newer <linux/dma-heap.h> work: the command is matched by type and number
 * whatever size it encodes.  The kernel reads min(user size, its own size)
 * bytes when the command has the write direction, zero-fills the fields the
 * caller's struct lacks, and ignores bytes beyond its own struct (a newer
 * client's fields; the core never rejects them either); on success it
 * writes back as many bytes as it read.  Unlike the core, a command whose
 * reply cannot carry the fd (no read direction, or a struct ending before it)
 * is refused: the core would install an fd the caller never learns.
 */
static long dmabuf_sg_ioctl_heap_alloc(unsigned int cmd, void __user *uarg)
{
	struct dmabuf_sg_export exp = { .name = "" };
	struct dma_heap_allocation_data arg = {};
	size_t size = min_t(size_t, _IOC_SIZE(cmd), sizeof(arg));
	struct dma_buf *dmabuf;

	if (!(_IOC_DIR(cmd) & _IOC_READ) ||
	    size < offsetofend(struct dma_heap_allocation_data, fd))
		return -EINVAL;
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(&arg, uarg, size))
		return -EFAULT;
	/*
	 * As the core: fd is output only and must come in as zero, and the
	 * access mode is passed on as it is: O_ACCMODE (3) makes a dma-buf
	 * file open for neither reading nor writing, as from the kernel's heaps.
	 */
	if (arg.fd || (arg.fd_flags & ~DMA_HEAP_VALID_FD_FLAGS) ||
	    (arg.heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS))
		return -EINVAL;

	exp.fd_flags = arg.fd_flags;
	dmabuf = dmabuf_sg_alloc_export(arg.len, 0, 0, &exp, NULL);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	return dmabuf_sg_reply_fd(dmabuf, arg.fd_flags, uarg, &arg, size,
				  &arg.fd);
}

static int dmabuf_sg_check_pin_args(const struct dmabuf_sg_pin *arg)
{
	if (arg->reserved || dmabuf_sg_check_fd_flags(arg->fd_flags) ||
	    dmabuf_sg_check_name(arg->name))
		return -EINVAL;
	/* A read-only pin must not hand out a writable file. */
	if (!(arg->flags & DMABUF_SG_PIN_WRITE) &&
	    (arg->fd_flags & O_ACCMODE) != O_RDONLY)
		return -EINVAL;
	if (arg->addr > ULONG_MAX || arg->len > SIZE_MAX)
		return -EFAULT;
	return 0;
}

static long dmabuf_sg_ioctl_pin(void __user *uarg)
{
	struct dmabuf_sg_buffer *buf;
	struct dmabuf_sg_export exp;
	struct dmabuf_sg_pin arg;
	struct dma_buf *dmabuf;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = dmabuf_sg_check_pin_args(&arg);
	if (ret)
		return ret;

	buf = dmabuf_sg_pin_create(arg.addr, arg.len, arg.flags);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	arg.sg_entries = buf->table.orig_nents;
	exp.fd_flags = arg.fd_flags;
	exp.name = arg.name;
	dmabuf = dmabuf_sg_buffer_export(buf, &exp);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	return dmabuf_sg_reply_fd(dmabuf, arg.fd_flags, uarg, &arg, sizeof(arg),
				  &arg.fd);
}

static int dmabuf_sg_check_view_args(const struct dmabuf_sg_view *arg)
{
	if (arg->reserved || dmabuf_sg_check_fd_flags(arg->fd_flags))
		return -EINVAL;
	/* A read-only view must not hand out a writable file. */
	if ((arg->flags & DMABUF_SG_VIEW_READ_ONLY) &&
	    (arg->fd_flags & O_ACCMODE) != O_RDONLY)
		return -EINVAL;
	if (arg->fd > INT_MAX)
		return -EBADF;
	return 0;
}

static long dmabuf_sg_ioctl_view(void __user *uarg)
{
	char name[DMABUF_SG_NAME_LEN];
	struct dma_buf *source, *dmabuf;
	struct dmabuf_sg_buffer *buf;
	struct dmabuf_sg_export exp;
	struct dmabuf_sg_view arg;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = dmabuf_sg_check_view_args(&arg);
	if (ret)
		return ret;

	source = dma_buf_get(arg.fd);
	if (IS_ERR(source))
		return PTR_ERR(source);
	buf = dmabuf_sg_view_create(source, arg.offset, arg.length, arg.flags);
	dmabuf_sg_buffer_name(source, name);
	dma_buf_put(source);
	if (IS_ERR(buf))
		return PTR_ERR(buf);

	exp.fd_flags = arg.fd_flags;
	exp.name = name;
	dmabuf = dmabuf_sg_buffer_export(buf, &exp);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	return dmabuf_sg_reply_fd(dmabuf, arg.fd_flags, uarg, &arg, sizeof(arg),
				  &arg.out_fd);
}

static long dmabuf_sg_ioctl_info(void __user *uarg)
{
	struct dmabuf_sg_buffer *buf;
	struct dmabuf_sg_info arg;
	struct dma_buf *dmabuf;
	long ret = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.pad)
		return -EINVAL;
	if (arg.fd > INT_MAX)
		return -EBADF;

	dmabuf = dma_buf_get(arg.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf_sg_buffer_from_dmabuf(dmabuf);
	if (buf)
		dmabuf_sg_buffer_info(buf, dmabuf, &arg);
	else
		ret = -EINVAL;
	dma_buf_put(dmabuf);

	if (!ret && copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

static long dmabuf_sg_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DMABUF_SG_IOCTL_ALLOC:
		return dmabuf_sg_ioctl_alloc(uarg);
	case DMABUF_SG_IOCTL_PIN:
		return dmabuf_sg_ioctl_pin(uarg);
	case DMABUF_SG_IOCTL_INFO:
		return dmabuf_sg_ioctl_info(uarg);
	case DMABUF_SG_IOCTL_VIEW:
		return dmabuf_sg_ioctl_view(uarg);
	}
	if (_IOC_TYPE(cmd) == DMA_HEAP_IOC_MAGIC &&
	    _IOC_NR(cmd) == _IOC_NR(DMA_HEAP_IOCTL_ALLOC))
		return dmabuf_sg_ioctl_heap_alloc(cmd, uarg);
	return -ENOTTY;
}

static const struct file_operations dmabuf_sg_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dmabuf_sg_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice dmabuf_sg_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dmabuf_sg",
	.fops = &dmabuf_sg_fops,
	.mode = 0600,
	.groups = dmabuf_sg_stats_groups,
};

static int __init dmabuf_sg_init(void)
{
	int ret;

	if (!dmabuf_sg_max_total_bytes)
		dmabuf_sg_max_total_bytes = (totalram_pages() << PAGE_SHIFT) / 2;
	if (dmabuf_sg_max_order > DMABUF_SG_MAX_PAGE_ORDER)
		return -EINVAL;
	ret = dmabuf_sg_pool_init();
	if (ret)
		return ret;
	ret = misc_register(&dmabuf_sg_misc);
	if (ret)
		dmabuf_sg_pool_exit();
	return ret;
}

/* No buffer is left (each holds a module reference): the pool is complete. */
static void __exit dmabuf_sg_exit(void)
{
	misc_deregister(&dmabuf_sg_misc);
	dmabuf_sg_pool_exit();
}

module_init(dmabuf_sg_init);
module_exit(dmabuf_sg_exit);

MODULE_DESCRIPTION("Scatter-gather allocation and user-memory pinning as dma-bufs");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
