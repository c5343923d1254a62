package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The launcher examples in {@code configs/k8s} and {@code configs/slurm} stay consistent with
 * themselves and with {@link ClusterEnvironment}: the Job and the Service agree, the shell parses,
 * and the sbatch script, run against stand-ins for srun and bin/synctower, starts one coordinator
 * and exits with its status. Both resume the run when its directory already holds a checkpoint (a
 * requeued Slurm job, a Kubernetes Job applied again).
 */
class ClusterExamplesTest {
  private static final Path ROOT = repositoryRoot();
  private static final Path JOB_YAML = ROOT.resolve("configs/k8s/synctower-job.yaml");
  private static final Path RUNS_YAML = ROOT.resolve("configs/k8s/synctower-runs.yaml");
  private static final Path SBATCH = ROOT.resolve("configs/slurm/synctower.sbatch");

  @TempDir Path dir;

  private static Path repositoryRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("configs")) && Files.isRegularFile(p.resolve("pom.xml"))) {
        return p;
      }
    }
    throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
  }

  // --- Kubernetes ---

  private static Map<String, Map<String, Object>> kubernetesObjects() throws IOException {
    final Map<String, Map<String, Object>> byKind = new HashMap<>();
    final Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    for (final Object doc : yaml.loadAll(Files.readString(JOB_YAML))) {
      if (doc != null) {
        final Map<String, Object> object = map(doc);
        assertEquals(null, byKind.put((String) object.get("kind"), object), "one of each kind");
      }
    }
    assertEquals(List.of("Job", "Service"), byKind.keySet().stream().sorted().toList());
    return byKind;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(final Object o) {
    assertTrue(o instanceof Map, () -> "expected a mapping, got " + o);
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(final Object o) {
    assertTrue(o instanceof List, () -> "expected a list, got " + o);
    return (List<Object>) o;
  }

  /** {@code path} like {@code spec.template.spec}: nested mappings. */
  private static Object at(final Map<String, Object> root, final String path) {
    Object node = root;
    for (final String key : path.split("\\.")) {
      node = map(node).get(key);
      assertNotNull(node, () -> "missing " + path);
    }
    return node;
  }

  private static Map<String, Object> container(final Map<String, Object> job) {
    final List<Object> containers = list(at(job, "spec.template.spec.containers"));
    assertEquals(1, containers.size());
    return map(containers.get(0));
  }

  private static Map<String, String> plainEnv(final Map<String, Object> container) {
    final Map<String, String> env = new HashMap<>();
    for (final Object item : list(container.get("env"))) {
      final Map<String, Object> var = map(item);
      if (var.containsKey("value")) {
        env.put((String) var.get("name"), var.get("value").toString());
      }
    }
    return env;
  }

  @Test
  void indexedJobRunsAllWorldSizePodsAtOnce() throws IOException {
    final Map<String, Object> job = kubernetesObjects().get("Job");
    final int worldSize = Integer.parseInt(plainEnv(container(job)).get("WORLD_SIZE"));
    assertEquals("Indexed", at(job, "spec.completionMode"));
    assertEquals(worldSize, at(job, "spec.completions"));
    assertEquals(worldSize, at(job, "spec.parallelism"));
    assertEquals(0, at(job, "spec.backoffLimit"), "a lost worker cannot rejoin: fail fast");
    assertEquals("Never", at(job, "spec.template.spec.restartPolicy"));
  }

  @Test
  void headlessServiceSelectsThePodsAndIsTheirSubdomain() throws IOException {
    final Map<String, Map<String, Object>> objects = kubernetesObjects();
    final Map<String, Object> service = objects.get("Service");
    final Map<String, Object> job = objects.get("Job");
    assertEquals("None", at(service, "spec.clusterIP"));
    assertEquals(at(service, "metadata.name"), at(job, "spec.template.spec.subdomain"));
    final Map<String, Object> labels = map(at(job, "spec.template.metadata.labels"));
    final Map<String, Object> selector = map(at(service, "spec.selector"));
    assertTrue(!selector.isEmpty(), "an empty selector selects nothing for DNS");
    selector.forEach((k, v) -> assertEquals(v, labels.get(k), () -> "pod label " + k));
  }

  @Test
  void workersReachPodZeroThroughTheServiceAndResolveLikeAnIndexedJobPod() throws IOException {
    final Map<String, Map<String, Object>> objects = kubernetesObjects();
    final Map<String, Object> service = objects.get("Service");
    final Map<String, Object> job = objects.get("Job");
    final Map<String, String> env = new HashMap<>(plainEnv(container(job)));
    final int coordinatorPort = servicePort(service, "coordinator");
    assertEquals(
        at(job, "metadata.name") + "-0." + at(service, "metadata.name") + ":" + coordinatorPort,
        env.get("COORDINATOR"));

    env.put("JOB_COMPLETION_INDEX", "2");
    final ClusterEnvironment where = ClusterEnvironment.resolve(null, null, null, null, env);
    assertEquals(2, where.rank());
    assertEquals(at(job, "spec.completions"), where.worldSize());
    assertEquals(0, where.localRank());
    assertEquals(0, where.device(), "one GPU per pod");
    assertEquals(coordinatorPort, where.coordinatorPort());
  }

  private static int servicePort(final Map<String, Object> service, final String name) {
    for (final Object p : list(at(service, "spec.ports"))) {
      final Map<String, Object> port = map(p);
      if (name.equals(port.get("name"))) {
        assertEquals("UDP", port.get("protocol"));
        return (Integer) port.get("port");
      }
    }
    throw new AssertionError("no service port " + name);
  }

  @Test
  void everyPodAsksForOneGpuAndDeclaresItsUdpPorts() throws IOException {
    final Map<String, Map<String, Object>> objects = kubernetesObjects();
    final Map<String, Object> container = container(objects.get("Job"));
    assertEquals(1, gpu(container, "requests"));
    assertEquals(1, gpu(container, "limits"));
    final Map<Integer, String> ports = new HashMap<>();
    for (final Object p : list(container.get("ports"))) {
      final Map<String, Object> port = map(p);
      ports.put((Integer) port.get("containerPort"), (String) port.get("protocol"));
    }
    assertEquals(Map.of(40100, "UDP", 40200, "UDP"), ports);
    assertEquals(40100, servicePort(objects.get("Service"), "coordinator"));
    assertEquals(40200, servicePort(objects.get("Service"), "tower"));
  }

  private static int gpu(final Map<String, Object> container, final String kind) {
    return (Integer) map(map(container.get("resources")).get(kind)).get("nvidia.com/gpu");
  }

  @Test
  void secretComesFromTheKubernetesSecretTheHeaderCreates() throws IOException {
    final String text = Files.readString(JOB_YAML);
    final Map<String, Object> job = kubernetesObjects().get("Job");
    String secretName = null;
    String volumeName = null;
    for (final Object v : list(at(job, "spec.template.spec.volumes"))) {
      final Map<String, Object> volume = map(v);
      if (volume.containsKey("secret")) {
        secretName = (String) map(volume.get("secret")).get("secretName");
        volumeName = (String) volume.get("name");
      }
    }
    assertNotNull(secretName);
    assertTrue(
        text.contains(
            "kubectl create secret generic "
                + secretName
                + " --from-literal=secret=$(openssl rand -hex 32)"),
        "the header's command creates the secret the Job mounts");
    String mountPath = null;
    for (final Object m : list(container(job).get("volumeMounts"))) {
      final Map<String, Object> mount = map(m);
      if (volumeName.equals(mount.get("name"))) {
        mountPath = (String) mount.get("mountPath");
        assertEquals(true, mount.get("readOnly"));
      }
    }
    assertNotNull(mountPath);
    assertTrue(podScript(job).contains(mountPath + "/secret"), "the pod reads the mounted key");
  }

  private static String podScript(final Map<String, Object> job) {
    final Map<String, Object> container = container(job);
    assertEquals(List.of("/bin/bash", "-c"), container.get("command"));
    return (String) list(container.get("args")).get(0);
  }

  @Test
  void podScriptParses() throws Exception {
    final Path script = dir.resolve("pod.sh");
    Files.writeString(script, podScript(kubernetesObjects().get("Job")));
    final Result r = run(List.of(bash(), "-n", script.toString()), Map.of(), dir);
    assertEquals(0, r.exit, r.output);
  }

  /**
   * The run directory is on the claim {@code synctower-runs.yaml} creates: shared by every pod
   * (ReadWriteMany: on a resume every worker reads the checkpoint) and kept after the Job is
   * deleted, so applying the Job again can resume.
   */
  @Test
  void runDirectoryIsOnTheSharedClaimTheOtherFileCreates() throws IOException {
    final Map<String, Object> job = kubernetesObjects().get("Job");
    final List<Map<String, Object>> claims = new ArrayList<>();
    final Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    for (final Object doc : yaml.loadAll(Files.readString(RUNS_YAML))) {
      if (doc != null) {
        claims.add(map(doc));
      }
    }
    assertEquals(1, claims.size());
    final Map<String, Object> claim = claims.get(0);
    assertEquals("PersistentVolumeClaim", claim.get("kind"));
    assertEquals(List.of("ReadWriteMany"), at(claim, "spec.accessModes"));
    String volumeName = null;
    for (final Object v : list(at(job, "spec.template.spec.volumes"))) {
      final Map<String, Object> volume = map(v);
      if (volume.containsKey("persistentVolumeClaim")) {
        assertEquals(null, volumeName, "one claim");
        volumeName = (String) volume.get("name");
        assertEquals(
            at(claim, "metadata.name"), map(volume.get("persistentVolumeClaim")).get("claimName"));
      }
    }
    assertNotNull(volumeName, "the Job mounts the claim");
    final String runDir = plainEnv(container(job)).get("SYNCTOWER_RUN_DIR");
    assertNotNull(runDir);
    assertTrue(
        runDir.startsWith(mountPaths(job).get(volumeName) + "/"),
        runDir + " lies on the claim's mount");
    assertTrue(
        Files.readString(JOB_YAML).contains("kubectl apply -f configs/k8s/synctower-runs.yaml"),
        "the header says to create the claim");
  }

  private static Map<String, String> mountPaths(final Map<String, Object> job) {
    final Map<String, String> paths = new HashMap<>();
    for (final Object m : list(container(job).get("volumeMounts"))) {
      final Map<String, Object> mount = map(m);
      paths.put((String) mount.get("name"), (String) mount.get("mountPath"));
    }
    return paths;
  }

  /**
   * Runs pod 0's script with its mounts in a temporary directory and stand-ins for {@code getent}
   * and {@code synctower}: the coordinator resumes the run exactly when the run directory holds a
   * checkpoint (the Job was applied again after a failure), and starts it again with {@code
   * --overwrite} when an earlier attempt left a run without one (a new run would be refused there).
   */
  @ParameterizedTest(name = "run directory: {0}")
  @ValueSource(strings = {"missing", "partial", "checkpoint"})
  void podZeroResumesTheRunWhenItsDirectoryHoldsACheckpoint(final String state) throws Exception {
    final boolean checkpoint = state.equals("checkpoint");
    final Map<String, Object> job = kubernetesObjects().get("Job");
    final Path mounts = dir.resolve("mnt");
    String script = podScript(job);
    final Map<String, String> env = new HashMap<>(plainEnv(container(job)));
    // Longest first, so a mount inside another is mapped as a whole.
    for (final String path :
        mountPaths(job).values().stream().sorted((a, b) -> b.length() - a.length()).toList()) {
      final Path local = Files.createDirectories(mounts.resolve(path.substring(1)));
      script = script.replace(path, local.toString());
      env.replaceAll((k, v) -> v.startsWith(path + "/") ? local + v.substring(path.length()) : v);
    }
    Files.writeString(mounts.resolve("etc/synctower-secret/secret"), "ab".repeat(32) + "\n");
    final Path runDir = Path.of(env.get("SYNCTOWER_RUN_DIR"));
    if (checkpoint) {
      Files.createDirectories(runDir.resolve("checkpoints/step-00000008"));
    } else if (state.equals("partial")) {
      Files.createDirectories(runDir);
      Files.writeString(runDir.resolve("config.yaml"), "name: x\n");
    }
    final Path fake = Files.createDirectories(dir.resolve("fake"));
    executable(fake.resolve("getent"), "exit 0\n");
    executable(
        fake.resolve("synctower"),
        """
        # synctower: records each call; the worker ends once the coordinator has.
        echo "$*" >> "$CALLS"
        if [ "$1" = coordinator ]; then touch "$CALLS.done"; exit 0; fi
        for _ in $(seq 100); do [ -e "$CALLS.done" ] && exit 0; sleep 0.1; done
        exit 7
        """);
    final Path calls = dir.resolve("calls");
    env.put("PATH", fake + File.pathSeparator + System.getenv().getOrDefault("PATH", "/bin"));
    env.put("CALLS", calls.toString());
    env.put("JOB_COMPLETION_INDEX", "0");
    env.put("POD_IP", "10.1.2.3");
    final Path file = dir.resolve("pod.sh");
    Files.writeString(file, script);

    final Result r = run(List.of(bash(), file.toString()), env, dir);

    assertEquals(0, r.exit, r.output);
    final String coordinator =
        "coordinator --config "
            + env.get("SYNCTOWER_CONFIG")
            + " --towers "
            + env.get("WORLD_SIZE")
            + " --transport udp --bind 10.1.2.3 --port 40100 --run-dir "
            + runDir
            + (checkpoint ? " --resume " + runDir : "")
            + (state.equals("partial") ? " --overwrite" : "");
    assertEquals(
        List.of(coordinator, "worker --bind 10.1.2.3"),
        Files.readAllLines(calls).stream().sorted().toList(),
        r.output);
  }

  // --- Slurm ---

  @Test
  void sbatchScriptParses() throws Exception {
    final Result r = run(List.of(bash(), "-n", SBATCH.toString()), Map.of(), dir);
    assertEquals(0, r.exit, r.output);
  }

  @Test
  void sbatchRunsOneTaskPerGpu() throws IOException {
    final Map<String, String> options = new HashMap<>();
    final Matcher m =
        Pattern.compile("(?m)^#SBATCH --([a-z-]+)(?:=(\\S+))?\\s*$")
            .matcher(Files.readString(SBATCH));
    while (m.find()) {
      options.put(m.group(1), m.group(2));
    }
    assertNotNull(options.get("ntasks-per-node"), options.toString());
    assertEquals(options.get("ntasks-per-node"), options.get("gpus-per-node"));
    assertTrue(!options.containsKey("gpus-per-task"), "each task must see all of the host's GPUs");
  }

  /**
   * Runs the sbatch script as Slurm would, with stand-ins: {@code srun} starts 4 tasks on 2 hosts,
   * {@code bin/synctower} records its arguments and the coordinator exits with {@code code}.
   */
  @ParameterizedTest
  @ValueSource(ints = {0, 3})
  void sbatchStartsOneCoordinatorOnTaskZeroAndExitsWithItsStatus(final int code) throws Exception {
    final Path home = dir.resolve("home");
    final Result r = runSbatch(home, code);

    assertEquals(code, r.exit, r.output);
    final Path runDir = home.resolve("runs/slurm-42");
    final List<String> calls =
        Files.readAllLines(runDir.resolve("calls")).stream().sorted().toList();
    final String common = " secret=600:65 coordinator=node01:40100";
    assertEquals(
        List.of(
            "task=0 coordinator --config configs/seeds/000-captcha-adadelta.yaml --towers 4 --transport udp"
                + " --bind 0.0.0.0 --port 40100 --run-dir "
                + runDir.resolve("run")
                + common,
            "task=0 worker --bind 10.0.0.1" + common,
            "task=1 worker --bind 10.0.0.1" + common,
            "task=2 worker --bind 10.0.0.2" + common,
            "task=3 worker --bind 10.0.0.2" + common),
        calls,
        r.output);
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir.resolve("secret"))));
    assertTrue(Files.readString(runDir.resolve("secret")).strip().matches("[0-9a-f]{64}"));
  }

  /**
   * Runs the sbatch script as job 42 in checkout {@code home} with stand-ins: {@code srun} starts 4
   * tasks on 2 hosts, {@code bin/synctower} records its arguments in {@code runs/slurm-42/calls}
   * and the coordinator exits with {@code code}.
   */
  private Result runSbatch(final Path home, final int code) throws Exception {
    assumeTrue(onPath("openssl").isPresent(), "openssl is not installed");
    final Path fake = Files.createDirectories(dir.resolve("fake"));
    Files.createDirectories(home);
    Files.createDirectories(home.resolve("coordinator/target"));
    Files.writeString(home.resolve("coordinator/target/synctower.jar"), "");
    executable(
        fake.resolve("srun"),
        """
        # srun: the command after the options, once per task, 2 tasks per host.
        while [ "${1#--}" != "$1" ]; do shift; done
        status=0
        pids=()
        for ((i = 0; i < SLURM_NTASKS; i++)); do
          SLURM_PROCID=$i SLURM_LOCALID=$((i % 2)) SLURMD_NODENAME=node0$((i / 2 + 1)) "$@" &
          pids+=($!)
        done
        for p in "${pids[@]}"; do
          wait "$p" || { s=$?; if [ "$s" -gt "$status" ]; then status=$s; fi; }
        done
        exit "$status"
        """);
    executable(
        fake.resolve("scontrol"),
        """
        [ "$1 $2 $3" = "show hostnames node[01-02]" ] || exit 9
        echo node01
        echo node02
        """);
    executable(
        fake.resolve("hostname"),
        """
        if [ "$1" = -I ]; then echo "10.0.0.$((SLURM_PROCID / 2 + 1)) fd00::1"; fi
        """);
    executable(
        home.resolve("bin/synctower"),
        """
        # bin/synctower: records each call; the workers end once the coordinator has.
        if [ "$1" = --version ]; then exit 0; fi
        f="$SYNCTOWER_SECRET_FILE"
        line="task=$SLURM_PROCID $* secret=$(stat -c %a "$f"):$(wc -c < "$f")"
        echo "$line coordinator=$COORDINATOR" >> "$SYNCTOWER_RUN_DIR/calls"
        if [ "$1" = coordinator ]; then
          sleep 0.5
          touch "$SYNCTOWER_RUN_DIR/coordinator.done"
          exit "$FAKE_COORDINATOR_EXIT"
        fi
        for _ in $(seq 200); do
          if [ -e "$SYNCTOWER_RUN_DIR/coordinator.done" ]; then exit 0; fi
          sleep 0.1
        done
        exit 7
        """);
    final Map<String, String> env = new HashMap<>();
    env.put(
        "PATH", fake + File.pathSeparator + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    env.put("HOME", dir.toString());
    env.put("SLURM_SUBMIT_DIR", home.toString());
    env.put("SLURM_JOB_ID", "42");
    env.put("SLURM_NTASKS", "4");
    env.put("SLURM_JOB_NODELIST", "node[01-02]");
    env.put("FAKE_COORDINATOR_EXIT", Integer.toString(code));

    return run(List.of(bash(), SBATCH.toString()), env, dir);
  }

  /**
   * A requeued job keeps its id and so its run directory: when that holds a checkpoint, the
   * coordinator resumes the run from it, with the same options otherwise.
   */
  @Test
  void sbatchResumesTheRunWhenItsDirectoryHoldsACheckpoint() throws Exception {
    final Path home = dir.resolve("home");
    final Path runDir = home.resolve("runs/slurm-42");
    Files.createDirectories(runDir.resolve("run/checkpoints/step-00000008"));

    final Result r = runSbatch(home, 0);

    assertEquals(0, r.exit, r.output);
    final List<String> coordinator =
        Files.readAllLines(runDir.resolve("calls")).stream()
            .filter(line -> line.startsWith("task=0 coordinator "))
            .toList();
    assertEquals(
        List.of(
            "task=0 coordinator --config configs/seeds/000-captcha-adadelta.yaml --towers 4 --transport udp"
                + " --bind 0.0.0.0 --port 40100 --run-dir "
                + runDir.resolve("run")
                + " --resume "
                + runDir.resolve("run")
                + " secret=600:65 coordinator=node01:40100"),
        coordinator,
        r.output);
    assertTrue(r.output.contains("resuming the run from it"), r.output);
  }

  /**
   * A requeued job whose first attempt died before its first checkpoint: nothing to resume, and a
   * new run would be refused in a directory that holds a run, so the run starts again there.
   */
  @Test
  void sbatchStartsARunWithoutACheckpointAgainWithOverwrite() throws Exception {
    final Path home = dir.resolve("home");
    final Path runDir = home.resolve("runs/slurm-42");
    Files.createDirectories(runDir.resolve("run"));
    Files.writeString(runDir.resolve("run/config.yaml"), "name: x\n");

    final Result r = runSbatch(home, 0);

    assertEquals(0, r.exit, r.output);
    final List<String> coordinator =
        Files.readAllLines(runDir.resolve("calls")).stream()
            .filter(line -> line.startsWith("task=0 coordinator "))
            .toList();
    assertEquals(1, coordinator.size(), r.output);
    assertTrue(coordinator.get(0).contains(" --overwrite "), coordinator.get(0));
    assertFalse(coordinator.get(0).contains("--resume"), coordinator.get(0));
  }

  private static void executable(final Path file, final String body) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/bash\n" + body, StandardCharsets.UTF_8);
    assertTrue(file.toFile().setExecutable(true));
  }

  // --- processes ---

  private record Result(int exit, String output) {}

  private static String bash() {
    final Optional<Path> bash = onPath("bash");
    assumeTrue(bash.isPresent(), "bash is not installed");
    return bash.get().toString();
  }

  private static Optional<Path> onPath(final String name) {
    for (final String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      final Path candidate = Path.of(d.isEmpty() ? "." : d, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  private static Result run(
      final List<String> command, final Map<String, String> env, final Path cwd)
      throws IOException, InterruptedException {
    final ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
    if (!env.isEmpty()) {
      pb.environment().clear();
      pb.environment().putAll(env);
    }
    pb.directory(cwd.toFile()).redirectErrorStream(true);
    final Path log = Files.createTempFile(cwd, "out", ".txt");
    pb.redirectOutput(log.toFile());
    final Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command + "\n" + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }
}
