package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ResultsCsvTest {
  @Test
  void shouldWriteTheMachineAsCommentsThenRowsThatReadBackEqual() throws Exception {
    final Map<String, String> header = new LinkedHashMap<>();
    header.put("cpu", "AMD EPYC");
    header.put("cores", "2 available to the JVM");
    final List<Measurement> rows =
        List.of(
            new Measurement(
                "jmh", "MemcpyBenchmark.arraycopy", "bytes=4096", 0.088, 0.004, "us/op"),
            new Measurement(
                "bench", "synctower bench step", "config=a,b batch=64", 64.6, Double.NaN, "ms/op"));
    final StringWriter out = new StringWriter();
    ResultsCsv.write(out, header, rows);

    final String text = out.toString();
    final String[] lines = text.split("\n");
    assertEquals("# cpu: AMD EPYC", lines[0]);
    assertEquals("# cores: 2 available to the JVM", lines[1]);
    assertEquals("source,benchmark,params,score,error,unit", lines[2]);
    assertEquals("jmh,MemcpyBenchmark.arraycopy,bytes=4096,0.088,0.004,us/op", lines[3]);
    // a comma in a cell is quoted; a missing error is an empty cell
    assertEquals("bench,synctower bench step,\"config=a,b batch=64\",64.6,,ms/op", lines[4]);

    final List<Measurement> back = ResultsCsv.read(new StringReader(text));
    assertEquals(rows, back);
    assertTrue(Double.isNaN(back.get(1).error()));
  }

  @Test
  void shouldRoundToSixSignificantDigits() throws Exception {
    final StringWriter out = new StringWriter();
    ResultsCsv.write(
        out, Map.of(), List.of(new Measurement("derived", "x", "", 1.0 / 3, 12345678.9, "GB/s")));
    assertTrue(out.toString().contains(",0.333333,1.23457E7,"), out.toString());
  }
}
