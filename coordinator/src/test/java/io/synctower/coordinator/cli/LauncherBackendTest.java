package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/synctower builds with the Maven profile of the backend asked for (SYNCTOWER_BACKEND) and
 * remembers it: a rebuild after a source change keeps the backend instead of falling back to the
 * CPU build. Runs the real launcher script in a scratch tree with stand-ins for mvn and java.
 */
class LauncherBackendTest {
  @TempDir Path home;
  private Path fakeBin;
  private Path source;

  @BeforeEach
  void scratchTree() throws IOException {
    final Path launcher = home.resolve("bin/synctower");
    Files.createDirectories(launcher.getParent());
    Files.copy(repositoryRoot().resolve("bin/synctower"), launcher);
    // The launcher sources its allocator settings from here.
    Files.createDirectories(home.resolve("bin/lib"));
    Files.copy(
        repositoryRoot().resolve("bin/lib/native-memory.sh"),
        home.resolve("bin/lib/native-memory.sh"));
    assertTrue(launcher.toFile().setExecutable(true));
    for (final String module : List.of("common", "worker", "coordinator")) {
      Files.createDirectories(home.resolve(module + "/src/main"));
    }
    source = home.resolve("common/src/main/A.java");
    Files.writeString(source, "class A {}");
    Files.createDirectories(home.resolve("configs"));
    Files.writeString(home.resolve("configs/quickstart.yaml"), "");
    Files.writeString(home.resolve("pom.xml"), "");
    Files.writeString(home.resolve("common/pom.xml"), "");
    fakeBin = Files.createDirectories(home.resolve("fake"));
    executable(
        fakeBin.resolve("mvn"),
        """
        # mvn: records its arguments and "builds" the jar.
        echo "mvn $*" >> "$LOG"
        mkdir -p coordinator/target
        echo jar > coordinator/target/synctower.jar
        """);
    executable(fakeBin.resolve("java"), "echo \"java $*\" >> \"$LOG\"\n");
  }

  @Test
  void theBackendAskedForShouldBeBuiltAndRemembered() throws Exception {
    run(Map.of("SYNCTOWER_BACKEND", "cuda"), 0);
    assertEquals(List.of("mvn -B -q -DskipTests -Pcuda package"), mavenCalls());
    assertEquals("cuda", Files.readString(marker()).trim());

    run(Map.of(), 0); // nothing changed: no build
    assertEquals(1, mavenCalls().size());

    makeSourceNewer();
    run(Map.of(), 0); // sources changed, no SYNCTOWER_BACKEND: the remembered backend
    assertEquals("mvn -B -q -DskipTests -Pcuda package", mavenCalls().get(1));

    Files.setLastModifiedTime(source, FileTime.from(Instant.now().minusSeconds(3600)));
    run(Map.of("SYNCTOWER_BACKEND", "cpu"), 0); // only the backend changed: rebuild
    assertEquals("mvn -B -q -DskipTests -Pcpu package", mavenCalls().get(2));
    assertEquals("cpu", Files.readString(marker()).trim());
  }

  @Test
  void aHandMadeCudaBuildShouldBeRebuiltWithCuda() throws Exception {
    // mvn -Pcuda package, run by hand: the coordinator pom records the profile next to the jar.
    Files.createDirectories(marker().getParent());
    Files.writeString(home.resolve("coordinator/target/synctower.jar"), "jar");
    Files.writeString(marker(), "cuda\n");
    makeSourceNewer();
    run(Map.of(), 0);
    assertEquals(List.of("mvn -B -q -DskipTests -Pcuda package"), mavenCalls());
  }

  @Test
  void aFirstRunWithoutABackendShouldBuildTheCpuOne() throws Exception {
    run(Map.of(), 0);
    assertEquals(List.of("mvn -B -q -DskipTests -Pcpu package"), mavenCalls());
  }

  @Test
  void anUnknownBackendShouldBeRefusedWithTheChoices() throws Exception {
    final String out = run(Map.of("SYNCTOWER_BACKEND", "gpu"), 2);
    assertTrue(
        out.contains("error: SYNCTOWER_BACKEND='gpu' is not a backend; use cpu or cuda"), out);
    assertTrue(mavenCalls().isEmpty());
  }

  private Path marker() {
    return home.resolve("coordinator/target/synctower.backend");
  }

  private void makeSourceNewer() throws IOException {
    Files.setLastModifiedTime(source, FileTime.from(Instant.now().plusSeconds(60)));
  }

  private List<String> mavenCalls() throws IOException {
    final Path log = home.resolve("log");
    if (!Files.exists(log)) {
      return List.of();
    }
    return Files.readAllLines(log).stream().filter(l -> l.startsWith("mvn ")).toList();
  }

  private String run(final Map<String, String> env, final int expectedExit)
      throws IOException, InterruptedException {
    final ProcessBuilder pb = new ProcessBuilder("bash", home.resolve("bin/synctower").toString());
    pb.environment().remove("SYNCTOWER_BACKEND");
    pb.environment().putAll(env);
    pb.environment().put("PATH", fakeBin + ":" + System.getenv("PATH"));
    pb.environment().put("LOG", home.resolve("log").toString());
    pb.directory(home.toFile()).redirectErrorStream(true);
    final Path out = Files.createTempFile(home, "out", ".txt");
    pb.redirectOutput(out.toFile());
    final Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("launcher did not finish: " + Files.readString(out));
    }
    final String text = Files.readString(out);
    assertEquals(expectedExit, p.exitValue(), text);
    return text;
  }

  private static void executable(final Path file, final String body) throws IOException {
    Files.writeString(file, "#!/bin/bash\n" + body, StandardCharsets.UTF_8);
    assertTrue(file.toFile().setExecutable(true));
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("bin/synctower"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("no bin/synctower above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
