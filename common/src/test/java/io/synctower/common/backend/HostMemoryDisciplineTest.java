package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Only {@link HostMemory} may touch an ND4J array's host memory directly: everywhere else a raw
 * write would leave a CUDA device copy marked current (stale data, silently wrong results) and a
 * raw read could see the state before the last device op. This scans every module's main and test
 * sources for the raw APIs; the CPU backend cannot show the bug, so the rule is checked here.
 */
class HostMemoryDisciplineTest {
  /**
   * Files allowed to use the raw APIs: the helper itself, its test (which checks the location calls
   * it makes) and this scanner (its patterns).
   */
  private static final Set<String> ALLOWED =
      Set.of(
          "common/src/main/java/io/synctower/common/backend/HostMemory.java",
          "common/src/test/java/io/synctower/common/backend/HostMemoryTest.java",
          "common/src/test/java/io/synctower/common/backend/HostMemoryDisciplineTest.java");

  private static final List<Pattern> FORBIDDEN =
      List.of(
          // NIO views of a DataBuffer: data().asNio(), asNioFloat(), asNioDouble(), ...
          Pattern.compile("\\basNio\\w*\\s*\\("),
          // Raw native addresses and JavaCPP pointers of a buffer.
          Pattern.compile("\\.\\s*(address|addressPointer|pointer)\\s*\\(\\s*\\)"),
          // Writes through the DataBuffer API itself.
          Pattern.compile(
              "\\.data\\s*\\(\\s*\\)\\s*\\.\\s*(put|assign|setData|write|copyAtStride)\\s*\\("),
          Pattern.compile("\\bDataBuffer\\b"),
          // Typed JavaCPP pointers and indexers over native memory.
          Pattern.compile("\\b(Float|Double|Byte|Short|Int|Long|Char|Bool)Pointer\\b"),
          Pattern.compile("\\bjavacpp\\.indexer\\b"),
          // The location bookkeeping belongs to the helper, next to the access it describes.
          Pattern.compile("\\b(tagLocation|ensureLocation)\\b"));

  @Test
  void onlyHostMemoryShouldTouchNd4jHostMemory() throws IOException {
    final Path root = projectRoot();
    final List<String> violations = new ArrayList<>();
    final List<Path> sources = sources(root);
    for (final Path file : sources) {
      final String relative = root.relativize(file).toString().replace('\\', '/');
      if (!ALLOWED.contains(relative)) {
        for (final String v : violations(Files.readString(file))) {
          violations.add(relative + ": " + v);
        }
      }
    }
    assertTrue(sources.size() > 100, "scanned only " + sources.size() + " files under " + root);
    assertEquals(
        List.of(),
        violations,
        "write or read ND4J host memory through io.synctower.common.backend.HostMemory"
            + " (it keeps a CUDA device copy in step)");
  }

  @Test
  void theScanShouldCatchEveryRawAccess() {
    final String[] raw = {
      "ByteBuffer b = x.data().asNio();",
      "FloatBuffer f = x.data().asNioFloat();",
      "long p = x.data().address();",
      "Pointer p = x.data().addressPointer();",
      "x.data().put(3, 1.0);",
      "x.data().assign(2.0);",
      "import org.nd4j.linalg.api.buffer.DataBuffer;",
      "FloatPointer f = new FloatPointer(p);",
      "FloatIndexer i = org.bytedeco.javacpp.indexer.FloatIndexer.create(p);",
      "Nd4j.getAffinityManager().tagLocation(x, AffinityManager.Location.HOST);",
      "Nd4j.getAffinityManager().ensureLocation(x, AffinityManager.Location.HOST);",
    };
    for (final String line : raw) {
      assertEquals(1, violations("class A {\n  void f() {\n    " + line + "\n  }\n}").size(), line);
    }
  }

  @Test
  void theScanShouldIgnoreCommentsAndSafeApis() {
    final String source =
        """
        /** Writes through data().asNio() would be wrong here. */
        class A {
          // x.data().address() is what HostMemory does
          long n = x.data().length();
          double[] copy = x.data().asDouble();
          INDArray y = x.mul(2);
          long bytes = Pointer.physicalBytes();
        }
        """;
    assertEquals(List.of(), violations(source));
  }

  /** "line N: text" for each forbidden use in {@code source}, comments excluded. */
  static List<String> violations(final String source) {
    final String[] lines = stripComments(source).split("\n", -1);
    final List<String> found = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      for (final Pattern p : FORBIDDEN) {
        final Matcher m = p.matcher(lines[i]);
        if (m.find()) {
          found.add("line " + (i + 1) + ": " + lines[i].trim());
          break;
        }
      }
    }
    return found;
  }

  /** Blanks comments but keeps line breaks, so line numbers stay right. Strings are kept. */
  private static String stripComments(final String s) {
    final StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    while (i < s.length()) {
      final char c = s.charAt(i);
      if (c == '"') {
        final int end = endOfString(s, i);
        out.append(s, i, end);
        i = end;
      } else if (s.startsWith("//", i)) {
        while (i < s.length() && s.charAt(i) != '\n') {
          i++;
        }
      } else if (s.startsWith("/*", i)) {
        final int end = s.indexOf("*/", i + 2);
        final int stop = end < 0 ? s.length() : end + 2;
        for (int k = i; k < stop; k++) {
          if (s.charAt(k) == '\n') {
            out.append('\n');
          }
        }
        i = stop;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static int endOfString(final String s, final int start) {
    if (s.startsWith("\"\"\"", start)) {
      final int end = s.indexOf("\"\"\"", start + 3);
      return end < 0 ? s.length() : end + 3;
    }
    int i = start + 1;
    while (i < s.length() && s.charAt(i) != '"' && s.charAt(i) != '\n') {
      i += s.charAt(i) == '\\' ? 2 : 1;
    }
    return Math.min(i + 1, s.length());
  }

  private static List<Path> sources(final Path root) throws IOException {
    final List<Path> files = new ArrayList<>();
    try (Stream<Path> modules = Files.list(root)) {
      for (final Path module :
          modules.filter(m -> Files.isRegularFile(m.resolve("pom.xml"))).toList()) {
        for (final String tree : List.of("src/main/java", "src/test/java")) {
          final Path dir = module.resolve(tree);
          if (Files.isDirectory(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
              walk.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            }
          }
        }
      }
    }
    return files;
  }

  /** The directory holding the parent pom (surefire runs in the module directory). */
  private static Path projectRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isDirectory(dir.resolve("common/src"))
          && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new UncheckedIOException(
        new IOException("no project root above " + Path.of("").toAbsolutePath()));
  }
}
