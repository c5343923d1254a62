package io.synctower.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.benchmarks.report.JmhCsv;
import io.synctower.benchmarks.report.Measurement;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The JMH wiring end to end, in a few seconds: the annotation processor generated the harness, a
 * benchmark runs (in this JVM, one 100 ms iteration), and the CSV JMH writes is the layout the
 * report reads.
 */
class JmhSmokeTest {
  @Test
  void shouldRunABenchmarkThroughJmhAndReadItsCsv(@TempDir final Path dir) throws Exception {
    final Path csv = dir.resolve("jmh.csv");
    final Options options =
        new OptionsBuilder()
            .include(MemcpyBenchmark.class.getName() + ".arraycopy")
            .param("bytes", "4096")
            .forks(0)
            .warmupIterations(1)
            .warmupTime(TimeValue.milliseconds(100))
            .measurementIterations(1)
            .measurementTime(TimeValue.milliseconds(100))
            .timeUnit(TimeUnit.NANOSECONDS)
            .resultFormat(ResultFormatType.CSV)
            .result(csv.toString())
            .shouldFailOnError(true)
            .build();
    new Runner(options).run();

    final List<Measurement> rows;
    try (Reader in = Files.newBufferedReader(csv)) {
      rows = JmhCsv.read(in, csv.toString());
    }
    assertEquals(1, rows.size());
    final Measurement m = rows.get(0);
    assertEquals("MemcpyBenchmark.arraycopy", m.benchmark());
    assertEquals("4096", m.param("bytes"));
    assertEquals("ns/op", m.unit());
    // Copying 4 KiB takes more than 1 ns (4 TB/s) and less than 1 ms (4 MB/s) on any machine.
    assertTrue(m.score() > 1 && m.score() < 1e6, "4 KiB copy in " + m.score() + " ns");
  }
}
