# Kernel tests in QEMU guests booting Debian's 6.1 and 6.12 kernels; see
# tests/vm/README.md.  tests/vm/run.sh fetches the kernels, builds the
# module and the in-guest tests itself, and caches under $(B)/vm/.
#
#   make vm-test     the kernel tests on both kernels (TAP)
#   make vm-bench    the module's benchmark on 6.12
#
# VM_ARGS adds arguments, e.g. make vm-test VM_ARGS="--kernel 6.1".

VM_RUN = BUILD_DIR=$(abspath $(B)) tests/vm/run.sh

.PHONY: vm-test vm-bench
vm-test: deps
	$(VM_RUN) --kernel all --mode test $(VM_ARGS)

vm-bench: deps
	$(VM_RUN) --kernel 6.12 --mode bench $(VM_ARGS)

# make bench runs the broker benchmarks and this one.
bench: vm-bench
