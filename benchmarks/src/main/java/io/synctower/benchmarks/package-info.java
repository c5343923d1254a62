/**
 * JMH microbenchmarks of SyncTower's hot paths: batch norm forward and backward per mode, the
 * in-process and Aeron all-reduce, a memcpy baseline, and one training step of the quick-start
 * model. Run them with {@code bin/benchmarks} (README "Performance"), which also runs the
 * end-to-end {@code synctower bench} commands and writes one CSV through {@link
 * io.synctower.benchmarks.report.ResultsReport}.
 *
 * <p>Every benchmark JVM selects the ND4J native build the way the launcher does ({@link
 * io.synctower.common.backend.NativeVariant#select()}) in its first {@code @Setup}, before ND4J
 * loads, so the figures are those of training. Collectives need all members to call in step, which
 * JMH's own thread groups cannot guarantee at the end of an iteration; {@link Lockstep} drives the
 * other members from the benchmark thread instead. Nothing here is used by training code.
 */
package io.synctower.benchmarks;
