package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes image (configs/k8s/Dockerfile) builds: its build stage copies every module the
 * root pom lists (Maven reads them all before building any, so one missing module fails the build,
 * as the benchmarks module once did), and every path it copies from the build context exists and is
 * not excluded by its .dockerignore.
 *
 * <p>A real {@code docker build} runs only with {@code -Dsynctower.docker.build=true} on a machine
 * with a Docker daemon and registry access (it downloads the base images and ~300 MB of Maven
 * artifacts, far too long for the default test run).
 */
class DockerfileTest {
  private static final Path ROOT = repositoryRoot();
  private static final Path DOCKERFILE = ROOT.resolve("configs/k8s/Dockerfile");

  @Test
  void buildStageCopiesEveryModuleTheRootPomLists() throws IOException {
    final List<String> copied = buildStageSources();
    for (final String module : rootPomModules()) {
      assertTrue(
          copied.contains(module),
          "configs/k8s/Dockerfile's build stage does not COPY module '"
              + module
              + "', which pom.xml lists; `mvn package` in the image would fail. Copied: "
              + copied);
    }
    assertTrue(copied.contains("pom.xml"), "the build stage must COPY the root pom.xml");
  }

  @Test
  void everyContextPathItCopiesExistsAndIsNotIgnored() throws IOException {
    final List<String> ignored =
        Files.readAllLines(ROOT.resolve("configs/k8s/Dockerfile.dockerignore")).stream()
            .map(String::trim)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList();
    for (final String source : contextSources()) {
      assertTrue(
          Files.exists(ROOT.resolve(source)),
          "configs/k8s/Dockerfile copies '" + source + "', which the repository does not have");
      assertTrue(
          !ignored.contains(source), "'" + source + "' is copied but excluded by .dockerignore");
    }
  }

  @Test
  void mavenBuildsOnlyWhatTheImageShips() throws IOException {
    final String text = Files.readString(DOCKERFILE, StandardCharsets.UTF_8);
    assertTrue(
        text.contains("-pl coordinator -am package"),
        "the image ships coordinator/target only; build that module and what it needs");
    assertTrue(text.contains("COPY --from=build /src/coordinator/target/synctower.jar"));
  }

  /** Opt-in: a real build, where Docker and the registries are reachable. */
  @Test
  void realDockerBuild() throws Exception {
    assumeTrue(Boolean.getBoolean("synctower.docker.build"), "-Dsynctower.docker.build=true");
    final Process p =
        new ProcessBuilder(
                "docker", "build", "-f", DOCKERFILE.toString(), "-t", "synctower:test", ".")
            .directory(ROOT.toFile())
            .inheritIO()
            .start();
    assertTrue(p.waitFor(60, TimeUnit.MINUTES), "docker build did not finish in an hour");
    assertEquals(0, p.exitValue(), "docker build failed (its output is above)");
  }

  /** The sources of the COPY lines before the second FROM (the build stage). */
  private static List<String> buildStageSources() throws IOException {
    final List<String> sources = new ArrayList<>();
    int froms = 0;
    for (final String line : Files.readAllLines(DOCKERFILE, StandardCharsets.UTF_8)) {
      if (line.startsWith("FROM ")) {
        froms++;
      } else if (froms == 1 && line.startsWith("COPY ") && !line.contains("--from=")) {
        sources.add(line.split("\\s+")[1]);
      }
    }
    return sources;
  }

  /** Every COPY source read from the build context (both stages). */
  private static List<String> contextSources() throws IOException {
    final List<String> sources = new ArrayList<>();
    for (final String line : Files.readAllLines(DOCKERFILE, StandardCharsets.UTF_8)) {
      if (line.startsWith("COPY ") && !line.contains("--from=")) {
        sources.add(line.split("\\s+")[1]);
      }
    }
    assertTrue(sources.size() >= 5, "expected the Dockerfile's COPY lines, found " + sources);
    return sources;
  }

  private static List<String> rootPomModules() throws IOException {
    final Matcher m =
        Pattern.compile("<module>([^<]+)</module>")
            .matcher(Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8));
    final List<String> modules = new ArrayList<>();
    while (m.find()) {
      modules.add(m.group(1).trim());
    }
    assertTrue(modules.size() >= 3, "expected the root pom's modules, found " + modules);
    return modules;
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("configs/k8s/Dockerfile"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(
          "no configs/k8s/Dockerfile above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
