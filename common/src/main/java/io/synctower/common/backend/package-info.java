/**
 * The native side of ND4J as SyncTower uses it: which native build loads, how many native threads
 * the ops use, how freed native memory is reused, and the one door to an array's host memory.
 *
 * <p>What lives here: {@link io.synctower.common.backend.NativeVariant} (chooses the libnd4j build
 * before ND4J is first touched), {@link io.synctower.common.backend.LoadedBackend} (what actually
 * loaded, for {@code --version} and bug reports), {@link io.synctower.common.backend.NativeThreads}
 * (dividing a host's cores among the towers on it), {@link
 * io.synctower.common.backend.NativeMemoryReuse} (the glibc allocator settings under which native
 * temporaries are reused instead of faulted in again) and {@link
 * io.synctower.common.backend.HostMemory} (every read or write of an array's bytes outside ND4J's
 * own ops; a test fails the build for any other class that does it).
 *
 * <p>What must not live here: model, BN, data or transport code. This package is the bottom of
 * {@code common}: it depends on no other SyncTower package.
 */
package io.synctower.common.backend;
