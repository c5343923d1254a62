# Sourced (not run) by bin/synctower, bin/benchmarks and benchmarks/peers/*.sh before they start
# java or python: the glibc allocator settings under which ND4J's freed native memory is reused
# instead of faulted in again on every op (common/.../backend/NativeMemoryReuse.java says why;
# README "Performance"). glibc reads them when a process starts, so they must be in the
# environment before it. A value already set, even empty, wins.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX-1}"
export MALLOC_MMAP_MAX_="${MALLOC_MMAP_MAX_-0}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_-68719476736}"
