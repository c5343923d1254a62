package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DerivedTest {
  private static final double NAN = Double.NaN;

  private static final List<Measurement> ROWS =
      List.of(
          // 2 members, 1 MiB in 100 +- 10 us: 2(2-1)/2 x 1,048,576 B / 1e-4 s = 10.48576 GB/s
          new Measurement(
              "jmh", "InProcessAllReduceBenchmark.allReduce", "bytes=1048576", 100, 10, "us/op"),
          // 1 MiB copied in 50 us: 20.97152 GB/s, so the ratio is exactly 0.5
          new Measurement("jmh", "MemcpyBenchmark.arraycopy", "bytes=1048576", 50, 0, "us/op"),
          new Measurement("jmh", "MemcpyBenchmark.ndAssign", "bytes=1048576", 0.025, NAN, "ms/op"),
          // processes: 1 MiB in 123 us over 2 members = 8.52501 GB/s; 4 KiB has no memcpy row
          new Measurement(
              "bench",
              "synctower bench allreduce",
              "transport=ipc members=2 bytes=1048576",
              123,
              NAN,
              "us/op"),
          new Measurement(
              "bench",
              "synctower bench allreduce",
              "transport=ipc members=2 bytes=4096",
              1.9,
              NAN,
              "us/op"),
          new Measurement(
              "jmh", "BatchNormBenchmark.forwardBackward", "mode=local", 12000, 300, "us/op"));

  private static final List<Measurement> DERIVED = Derived.of(ROWS);

  private static Optional<Measurement> find(final String benchmark, final String params) {
    return DERIVED.stream()
        .filter(m -> m.benchmark().equals(benchmark) && m.params().equals(params))
        .findFirst();
  }

  @Test
  void shouldDeriveBusBandwidthOfEachAllReduceFromItsTime() {
    final Measurement jmh =
        find("InProcessAllReduceBenchmark.allReduce busbw", "bytes=1048576").orElseThrow();
    assertEquals(10.48576, jmh.score(), 1e-9);
    assertEquals(1.048576, jmh.error(), 1e-9);
    assertEquals("GB/s", jmh.unit());
    assertEquals("derived", jmh.source());
    final Measurement processes =
        find("synctower bench allreduce busbw", "transport=ipc members=2 bytes=1048576")
            .orElseThrow();
    assertEquals(1048576 / 123e-6 / 1e9, processes.score(), 1e-9);
  }

  @Test
  void shouldDeriveCopyBandwidthWhateverTheTimeUnit() {
    assertEquals(
        20.97152,
        find("MemcpyBenchmark.arraycopy bandwidth", "bytes=1048576").orElseThrow().score(),
        1e-9);
    // 1 MiB in 0.025 ms is also 41.94304 GB/s
    assertEquals(
        41.94304,
        find("MemcpyBenchmark.ndAssign bandwidth", "bytes=1048576").orElseThrow().score(),
        1e-9);
  }

  @Test
  void shouldRatioBusBandwidthToSingleThreadMemcpyOfTheSameSizeOnly() {
    final Measurement inProcess =
        find("ratio busbw/memcpy", "allreduce=InProcessAllReduceBenchmark.allReduce bytes=1048576")
            .orElseThrow();
    assertEquals(0.5, inProcess.score(), 1e-12);
    assertEquals(0.05, inProcess.error(), 1e-12); // 10% of the time, 0% of the copy
    assertEquals("x", inProcess.unit());
    final Measurement processes =
        find(
                "ratio busbw/memcpy",
                "allreduce=synctower_bench_allreduce transport=ipc members=2 bytes=1048576")
            .orElseThrow();
    assertEquals(123.0 / 50.0, 1 / processes.score(), 1e-9);
    assertTrue(Double.isNaN(processes.error()), "no error given, none derived");
    // no memcpy at 4 KiB in these rows: no ratio; BN rows have no bytes: nothing derived
    assertTrue(
        DERIVED.stream().noneMatch(m -> m.params().endsWith("bytes=4096") && m.unit().equals("x")));
    assertEquals(7, DERIVED.size()); // 3 busbw, 2 copy bandwidths, 2 ratios
  }
}
