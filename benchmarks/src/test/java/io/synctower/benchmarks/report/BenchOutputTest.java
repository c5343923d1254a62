package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchOutputTest {
  // The lines `synctower bench step` prints (BenchCommand.Step's formats), memory table included.
  private static final String STEP =
      """
      bench step: quickstart, batch 64, dtype FLOAT, native linux-x86_64-onednn-avx512, 2 cores
          step      ms/step    heap alloc KiB/step  process RSS MiB
             5         66.1                  451.2            391.0
      samples/s 990.1 | ms/step median 64.6 (p10 63.0, p90 70.2) = forward 20.1 + backward 40.3 + optimizer 3.9
      """;

  // `synctower bench allreduce` (BenchAllReduce's formats), with a member's log line in between.
  private static final String ALLREDUCE =
      """
      bench allreduce: 2 processes over Aeron IPC, float32; memcpy (1 thread) 12.34 GB/s
             bytes      median us       algbw GB/s       busbw GB/s
              4096            1.9            2.156            2.156
      [tower 1] something a member printed
           1048576          123.0            8.525            8.525
      """;

  @Test
  void shouldReadTheStepSummaryIntoTimesAndThroughput() {
    final List<Measurement> rows = BenchOutput.step(STEP, "step.txt");
    assertEquals(5, rows.size());
    assertEquals(
        new Measurement(
            "bench",
            "synctower bench step",
            "config=quickstart batch=64 towers=1",
            64.6,
            Double.NaN,
            "ms/op"),
        rows.get(0));
    assertEquals(20.1, rows.get(1).score());
    assertEquals(40.3, rows.get(2).score());
    assertEquals(3.9, rows.get(3).score());
    assertEquals("samples/s", rows.get(4).unit());
    assertEquals(990.1, rows.get(4).score());
  }

  @Test
  void shouldReadEverySizeRowAndTheMemcpyFigure() {
    final List<Measurement> rows = BenchOutput.allReduce(ALLREDUCE, "allreduce.txt");
    assertEquals(3, rows.size());
    assertEquals("synctower bench allreduce memcpy", rows.get(0).benchmark());
    assertEquals(12.34, rows.get(0).score());
    assertEquals("transport=ipc members=2 bytes=4096", rows.get(1).params());
    assertEquals(1.9, rows.get(1).score());
    assertEquals("us/op", rows.get(1).unit());
    assertEquals("1048576", rows.get(2).param("bytes"));
    assertEquals(123.0e-6, rows.get(2).seconds(), 1e-15);
  }

  @Test
  void shouldFailNamingTheFileWhenTheCommandPrintedNoResult() {
    final IllegalArgumentException step =
        assertThrows(
            IllegalArgumentException.class,
            () -> BenchOutput.step("error: config invalid\n", "out/step.txt"));
    assertTrue(step.getMessage().contains("out/step.txt"), step.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> BenchOutput.allReduce("bench: member 1 exited with code 1\n", "ar.txt"));
  }
}
