/**
 * Turns one {@code bin/benchmarks} run into one CSV: JMH's {@code -rf csv} file, the printed output
 * of {@code synctower bench step} and {@code bench allreduce}, the bandwidths derived from their
 * times, and a header describing the machine. Plain Java and Commons CSV only, apart from {@link
 * io.synctower.benchmarks.report.BackendDescription}, so the parsing and the arithmetic are
 * unit-tested without ND4J.
 */
package io.synctower.benchmarks.report;
