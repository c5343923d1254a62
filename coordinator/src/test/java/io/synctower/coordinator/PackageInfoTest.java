package io.synctower.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every main package of every module has a {@code package-info.java} saying what the package owns
 * and what it must not know (docs/design.md, "Modules and packages"). A source scan: javac writes
 * no class file for a package-info without annotations, so ArchitectureTest cannot see them.
 */
class PackageInfoTest {
  @Test
  void everyMainPackageShouldSayWhatItOwnsAndWhatItMustNotKnow() throws IOException {
    final Path root = projectRoot();
    final List<Path> packages;
    try (Stream<Path> modules = Files.list(root)) {
      packages =
          modules
              .filter(m -> Files.isRegularFile(m.resolve("pom.xml")))
              .map(m -> m.resolve("src/main/java"))
              .filter(Files::isDirectory)
              .flatMap(PackageInfoTest::packagesUnder)
              .sorted()
              .toList();
    }
    assertTrue(packages.size() >= 20, "found only " + packages.size() + " packages under " + root);
    final List<String> missing =
        packages.stream()
            .filter(p -> !Files.isRegularFile(p.resolve("package-info.java")))
            .map(p -> root.relativize(p).toString())
            .toList();
    assertEquals(
        List.of(),
        missing,
        "packages without a package-info.java; add one saying what the package owns and what it"
            + " must not know");
  }

  /** The directories under {@code sourceRoot} that hold at least one Java source. */
  private static Stream<Path> packagesUnder(final Path sourceRoot) {
    try (Stream<Path> files = Files.walk(sourceRoot)) {
      return files
          .filter(f -> f.toString().endsWith(".java"))
          .map(Path::getParent)
          .distinct()
          .toList()
          .stream();
    } catch (final IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path projectRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isDirectory(dir.resolve("common/src"))
          && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("no project root above " + Path.of("").toAbsolutePath());
  }
}
