package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

class JmhCsvTest {
  // Written by hand in the layout JMH 1.37 uses for -rf csv (quoted header, empty cells for
  // parameters a benchmark does not have, NaN for an error of one sample).
  private static final String CSV =
      """
      "Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit","Param: bytes","Param: mode"
      "io.synctower.benchmarks.BatchNormBenchmark.forwardBackward","avgt",1,10,12844.166729,310.5,"us/op",,local
      "io.synctower.benchmarks.MemcpyBenchmark.arraycopy","avgt",1,1,3829.519582,NaN,"us/op",67108864,
      """;

  @Test
  void shouldReadScoresErrorsUnitsAndOnlyTheParametersABenchmarkHas() throws Exception {
    final List<Measurement> rows = JmhCsv.read(new StringReader(CSV), "jmh.csv");
    assertEquals(2, rows.size());
    final Measurement bn = rows.get(0);
    assertEquals("jmh", bn.source());
    assertEquals("BatchNormBenchmark.forwardBackward", bn.benchmark());
    assertEquals("mode=local", bn.params());
    assertEquals(12844.166729, bn.score());
    assertEquals(310.5, bn.error());
    assertEquals("us/op", bn.unit());
    assertNull(bn.param("bytes"));

    final Measurement copy = rows.get(1);
    assertEquals("bytes=67108864", copy.params());
    assertEquals("67108864", copy.param("bytes"));
    assertTrue(Double.isNaN(copy.error()));
    assertEquals(3829.519582e-6, copy.seconds(), 1e-15);
  }

  @Test
  void shouldNameTheFileWhenItIsNotJmhOutput() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> JmhCsv.read(new StringReader("a,b\n1,2\n"), "results/x.csv"));
    assertTrue(e.getMessage().contains("results/x.csv"), e.getMessage());
    assertTrue(e.getMessage().contains("-rf csv"), e.getMessage());
  }
}
