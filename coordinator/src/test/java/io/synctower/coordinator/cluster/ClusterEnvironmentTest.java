package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.ConfigException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each launcher convention on its own, their precedence, mixes, and error messages that name the
 * field, the value, where it came from and the fix.
 */
class ClusterEnvironmentTest {
  private static final Map<String, String> TORCHRUN =
      Map.of("RANK", "1", "WORLD_SIZE", "4", "LOCAL_RANK", "1", "COORDINATOR", "host0:40111");
  private static final Map<String, String> SLURM =
      Map.of(
          "SLURM_PROCID", "5",
          "SLURM_NTASKS", "8",
          "SLURM_LOCALID", "1",
          "SLURM_JOB_NODELIST", "gpu[03-04]");
  private static final Map<String, String> KUBERNETES =
      Map.of("JOB_COMPLETION_INDEX", "3", "WORLD_SIZE", "6", "COORDINATOR", "train-0.train:40100");

  /** The union of {@code parts}; a later part wins. */
  @SafeVarargs
  private static Map<String, String> env(final Map<String, String>... parts) {
    final Map<String, String> all = new HashMap<>();
    for (final Map<String, String> part : parts) {
      all.putAll(part);
    }
    return all;
  }

  private static ClusterEnvironment fromEnv(final Map<String, String> env) {
    return ClusterEnvironment.resolve(null, null, null, null, env);
  }

  private static ConfigException failure(
      final Integer rank,
      final Integer worldSize,
      final String coordinator,
      final Integer device,
      final Map<String, String> env) {
    return assertThrows(
        ConfigException.class,
        () -> ClusterEnvironment.resolve(rank, worldSize, coordinator, device, env));
  }

  private static void assertContains(final String text, final String... fragments) {
    for (final String fragment : fragments) {
      assertTrue(text.contains(fragment), () -> "expected \"" + fragment + "\" in:\n" + text);
    }
  }

  // --- each convention alone ---

  @Test
  void flagsAloneOnOneHostUseTheRankAsLocalRankAndDevice() {
    final ClusterEnvironment e =
        ClusterEnvironment.resolve(1, 2, "127.0.0.1:40100", null, Map.of());
    assertEquals(
        new ClusterEnvironment(
            1,
            2,
            1,
            1,
            "127.0.0.1",
            40100,
            "flags (--rank 1, --world-size 2, --coordinator 127.0.0.1:40100);"
                + " defaults (local rank = rank: workers on one host, device = local rank)"),
        e);
  }

  @Test
  void torchrunVariablesAlone() {
    final ClusterEnvironment e = fromEnv(TORCHRUN);
    assertEquals(1, e.rank());
    assertEquals(4, e.worldSize());
    assertEquals(1, e.localRank());
    assertEquals(1, e.device());
    assertEquals("host0", e.coordinatorHost());
    assertEquals(40111, e.coordinatorPort());
    assertEquals(
        "environment (RANK=1, WORLD_SIZE=4, LOCAL_RANK=1, COORDINATOR=host0:40111);"
            + " defaults (device = local rank)",
        e.source());
  }

  /** What torchrun sets in each process it starts (--nnodes 2 --nproc-per-node 2, node 1). */
  private static final Map<String, String> TORCHRUN_ITSELF =
      Map.of(
          "RANK", "3",
          "WORLD_SIZE", "4",
          "LOCAL_RANK", "1",
          "LOCAL_WORLD_SIZE", "2",
          "MASTER_ADDR", "10.0.0.1",
          "MASTER_PORT", "29500");

  @Test
  void torchrunsOwnVariablesNameTheCoordinator() {
    final ClusterEnvironment e = fromEnv(TORCHRUN_ITSELF);
    assertEquals(
        new ClusterEnvironment(
            3,
            4,
            1,
            1,
            "10.0.0.1",
            29500,
            "environment (RANK=3, WORLD_SIZE=4, LOCAL_RANK=1, LOCAL_WORLD_SIZE=2,"
                + " MASTER_ADDR=10.0.0.1, MASTER_PORT=29500); defaults (device = local rank)"),
        e);
  }

  @Test
  void coordinatorWinsOverMasterAddrAndMasterAddrWithoutPortUsesTheDefault() {
    final ClusterEnvironment both =
        fromEnv(env(TORCHRUN_ITSELF, Map.of("COORDINATOR", "c0:40123")));
    assertEquals("c0", both.coordinatorHost());
    assertEquals(40123, both.coordinatorPort());
    final Map<String, String> noPort = env(TORCHRUN_ITSELF);
    noPort.remove("MASTER_PORT");
    assertEquals(ClusterEnvironment.DEFAULT_COORDINATOR_PORT, fromEnv(noPort).coordinatorPort());
    noPort.put("SYNCTOWER_COORDINATOR_PORT", "40555");
    assertEquals(40555, fromEnv(noPort).coordinatorPort());
  }

  @Test
  void badMasterVariablesAreNamed() {
    assertContains(
        failure(null, null, null, null, env(TORCHRUN_ITSELF, Map.of("MASTER_ADDR", "h:1")))
            .problems()
            .get(0),
        "MASTER_ADDR=\"h:1\" has a port",
        "MASTER_PORT");
    assertContains(
        failure(null, null, null, null, env(TORCHRUN_ITSELF, Map.of("MASTER_PORT", "70000")))
            .problems()
            .get(0),
        "MASTER_PORT=\"70000\" is not a UDP port");
  }

  @Test
  void localRankMustBeBelowLocalWorldSize() {
    assertContains(
        failure(null, null, null, null, env(TORCHRUN_ITSELF, Map.of("LOCAL_WORLD_SIZE", "1")))
            .problems()
            .get(0),
        "local rank: LOCAL_RANK=1 is not below LOCAL_WORLD_SIZE=1",
        "fix whichever is wrong");
  }

  @Test
  void cudaVisibleDevicesPlacesTheWorker() {
    // One GPU shown to the process: it is device 0, whatever the local rank.
    final ClusterEnvironment own =
        fromEnv(env(TORCHRUN_ITSELF, Map.of("CUDA_VISIBLE_DEVICES", "5")));
    assertEquals(0, own.device());
    assertContains(own.source(), "CUDA_VISIBLE_DEVICES=5 -> device 0");
    // Several shown: the local rank picks among them.
    assertEquals(1, fromEnv(env(TORCHRUN_ITSELF, Map.of("CUDA_VISIBLE_DEVICES", "4,6"))).device());
    // Fewer than the local rank needs: an error naming both, not a silent shared GPU.
    assertContains(
        failure(
                null,
                null,
                null,
                null,
                env(
                    TORCHRUN_ITSELF,
                    Map.of(
                        "LOCAL_RANK", "2", "LOCAL_WORLD_SIZE", "3", "CUDA_VISIBLE_DEVICES", "0,1")))
            .problems()
            .get(0),
        "device: local rank 2 has no GPU of its own in CUDA_VISIBLE_DEVICES=\"0,1\" (2 listed)");
    // --device wins.
    assertEquals(
        3,
        ClusterEnvironment.resolve(
                null, null, null, 3, env(TORCHRUN_ITSELF, Map.of("CUDA_VISIBLE_DEVICES", "5")))
            .device());
  }

  @Test
  void slurmAloneTakesTheCoordinatorFromTheFirstHostOfTheNodelist() {
    final ClusterEnvironment e = fromEnv(SLURM);
    assertEquals(
        new ClusterEnvironment(
            5,
            8,
            1,
            1,
            "gpu03",
            ClusterEnvironment.DEFAULT_COORDINATOR_PORT,
            "Slurm (SLURM_PROCID=5, SLURM_NTASKS=8, SLURM_LOCALID=1,"
                + " SLURM_JOB_NODELIST=gpu[03-04] -> gpu03);"
                + " defaults (device = local rank, coordinator port 40100)"),
        e);
  }

  @Test
  void slurmCoordinatorPortComesFromSyncTowerCoordinatorPort() {
    final ClusterEnvironment e = fromEnv(env(SLURM, Map.of("SYNCTOWER_COORDINATOR_PORT", "40555")));
    assertEquals("gpu03", e.coordinatorHost());
    assertEquals(40555, e.coordinatorPort());
    assertContains(
        e.source(), "SLURM_JOB_NODELIST=gpu[03-04] -> gpu03, SYNCTOWER_COORDINATOR_PORT=40555");
  }

  @Test
  void kubernetesIndexedJobIsOnePodPerRankOnDeviceZero() {
    final ClusterEnvironment e = fromEnv(KUBERNETES);
    assertEquals(
        new ClusterEnvironment(
            3,
            6,
            0,
            0,
            "train-0.train",
            40100,
            "environment (WORLD_SIZE=6, COORDINATOR=train-0.train:40100);"
                + " Kubernetes indexed Job (JOB_COMPLETION_INDEX=3, local rank 0: one pod per rank);"
                + " defaults (device = local rank)"),
        e);
  }

  // --- precedence ---

  @Test
  void flagsBeatTorchrunVariablesBeatSlurmBeatKubernetes() {
    final Map<String, String> all = env(KUBERNETES, SLURM, TORCHRUN);
    final ClusterEnvironment flags = ClusterEnvironment.resolve(2, 3, "flaghost:1234", 7, all);
    assertEquals(
        List.of(2, 3, 1, 7, "flaghost", 1234),
        List.of(
            flags.rank(),
            flags.worldSize(),
            flags.localRank(),
            flags.device(),
            flags.coordinatorHost(),
            flags.coordinatorPort()));

    final ClusterEnvironment torchrun = fromEnv(all);
    assertEquals(List.of(1, 4, 1, "host0"), summary(torchrun));

    final Map<String, String> noTorchrun = env(SLURM, Map.of("JOB_COMPLETION_INDEX", "3"));
    assertEquals(List.of(5, 8, 1, "gpu03"), summary(fromEnv(noTorchrun)));

    assertEquals(List.of(3, 6, 0, "train-0.train"), summary(fromEnv(KUBERNETES)));
  }

  private static List<Object> summary(final ClusterEnvironment e) {
    return List.of(e.rank(), e.worldSize(), e.localRank(), e.coordinatorHost());
  }

  @Test
  void anInvalidValueIsReportedNotSkippedInFavourOfALowerConvention() {
    final ConfigException e = failure(null, null, null, null, env(SLURM, Map.of("RANK", "x")));
    assertContains(e.getMessage(), "rank: RANK=\"x\" is not an integer");
  }

  // --- mixes ---

  @Test
  void slurmRankWithAnExplicitCoordinator() {
    final ClusterEnvironment e =
        ClusterEnvironment.resolve(null, null, "10.0.0.5:40200", null, SLURM);
    assertEquals(List.of(5, 8, 1, "10.0.0.5"), summary(e));
    assertEquals(40200, e.coordinatorPort());
    assertEquals(
        "flags (--coordinator 10.0.0.5:40200);"
            + " Slurm (SLURM_PROCID=5, SLURM_NTASKS=8, SLURM_LOCALID=1);"
            + " defaults (device = local rank)",
        e.source());
  }

  @Test
  void kubernetesIndexWithTheWorldSizeFromTheFlag() {
    final ClusterEnvironment e =
        ClusterEnvironment.resolve(
            null, 16, null, null, Map.of("JOB_COMPLETION_INDEX", "15", "COORDINATOR", "j-0.s"));
    assertEquals(List.of(15, 16, 0, "j-0.s"), summary(e));
    assertEquals(40100, e.coordinatorPort());
  }

  @Test
  void deviceFlagOverridesTheLocalRankButNotThePortOffset() {
    final ClusterEnvironment e = ClusterEnvironment.resolve(null, null, null, 0, SLURM);
    assertEquals(1, e.localRank());
    assertEquals(0, e.device());
    assertContains(e.source(), "flags (--device 0)");
  }

  @Test
  void torchrunLocalRankWithSlurmRank() {
    final ClusterEnvironment e = fromEnv(env(SLURM, Map.of("LOCAL_RANK", "0")));
    assertEquals(0, e.localRank());
    assertEquals(5, e.rank());
  }

  @Test
  void emptyVariablesCountAsUnset() {
    final ClusterEnvironment e = fromEnv(env(SLURM, Map.of("RANK", "", "COORDINATOR", " ")));
    assertEquals(5, e.rank());
    assertEquals("gpu03", e.coordinatorHost());
  }

  // --- coordinator address forms ---

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "node01:40100        | node01        | 40100 | node01:40100",
        "node01              | node01        | 40100 | node01:40100",
        "10.1.2.3:5          | 10.1.2.3      | 5     | 10.1.2.3:5",
        "[::1]:40123         | ::1           | 40123 | [::1]:40123",
        "[fd00::1]           | fd00::1       | 40100 | [fd00::1]:40100",
        "[fe80::1%eth0]:65535 | fe80::1%eth0 | 65535 | [fe80::1%eth0]:65535",
        "' j-0.svc.ns.svc.cluster.local:1 ' | j-0.svc.ns.svc.cluster.local | 1 | j-0.svc.ns.svc.cluster.local:1",
      })
  void coordinatorAddressForms(
      final String given, final String host, final int port, final String endpoint) {
    final ClusterEnvironment e = ClusterEnvironment.resolve(0, 1, given, null, Map.of());
    assertEquals(host, e.coordinatorHost());
    assertEquals(port, e.coordinatorPort());
    assertEquals(endpoint, e.coordinatorEndpoint());
  }

  @Test
  void aCoordinatorWithoutPortUsesSyncTowerCoordinatorPort() {
    final ClusterEnvironment e =
        fromEnv(env(TORCHRUN, Map.of("COORDINATOR", "h", "SYNCTOWER_COORDINATOR_PORT", "41000")));
    assertEquals(41000, e.coordinatorPort());
    assertContains(e.source(), "environment (", "SYNCTOWER_COORDINATOR_PORT=41000");
  }

  // --- errors: each names the field, the value, its origin and the fix ---

  @Test
  void missingRankNamesEveryVariableThatWouldHaveProvidedIt() {
    final ConfigException e = failure(null, 2, "h:1", null, Map.of());
    assertEquals(1, e.problems().size(), e.getMessage());
    assertContains(
        e.problems().get(0),
        "rank: not set",
        "--rank R",
        "RANK",
        "SLURM_PROCID",
        "JOB_COMPLETION_INDEX");
  }

  @Test
  void missingWorldSizeInAnIndexedJobSaysToSetWorldSizeToTheCompletions() {
    final ConfigException e =
        failure(null, null, null, null, Map.of("JOB_COMPLETION_INDEX", "0", "COORDINATOR", "c"));
    assertEquals(1, e.problems().size(), e.getMessage());
    assertContains(
        e.problems().get(0),
        "world size: not set",
        "--world-size N",
        "WORLD_SIZE",
        "SLURM_NTASKS",
        "set env WORLD_SIZE to the Job's completions");
  }

  @Test
  void missingCoordinatorNamesTheFlagTheVariableAndTheNodelist() {
    final ConfigException plain = failure(0, 1, null, null, Map.of());
    assertContains(
        plain.problems().get(0),
        "coordinator: not set",
        "--coordinator HOST:PORT",
        "COORDINATOR=host:port",
        "SLURM_JOB_NODELIST");
    final ConfigException k8s =
        failure(null, null, null, null, Map.of("JOB_COMPLETION_INDEX", "1", "WORLD_SIZE", "2"));
    assertContains(k8s.problems().get(0), "coordinator: not set", "<job>-0.<service>:40100");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    final ConfigException e = failure(null, null, null, null, Map.of());
    assertEquals(3, e.problems().size(), e.getMessage());
    assertContains(e.getMessage(), "3 problems in the worker's flags and environment");
    assertEquals(
        List.of("rank:", "world size:", "coordinator:"),
        e.problems().stream().map(p -> p.substring(0, p.indexOf(':') + 1)).toList(),
        "in field order");
  }

  @Test
  void aRankProblemComesBeforeACoordinatorProblem() {
    final ConfigException e =
        failure(
            null,
            null,
            null,
            null,
            Map.of("SLURM_PROCID", "8", "SLURM_NTASKS", "8", "COORDINATOR", "::1:40100"));
    assertEquals(2, e.problems().size(), e.getMessage());
    assertContains(e.problems().get(0), "rank: 8 (from SLURM_PROCID=8)");
    assertContains(e.problems().get(1), "coordinator: COORDINATOR=\"::1:40100\" has several ':'");
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource({
    "RANK,          abc, 'rank: RANK=\"abc\" is not an integer', --rank R",
    "SLURM_PROCID,  2.0, 'rank: SLURM_PROCID=\"2.0\" is not an integer', --rank R",
    "WORLD_SIZE,    four, 'world size: WORLD_SIZE=\"four\" is not an integer', --world-size N",
    "SLURM_NTASKS,  99999999999, 'world size: SLURM_NTASKS=\"99999999999\" is not an integer', --world-size N",
    "LOCAL_RANK,    0x1, 'local rank: LOCAL_RANK=\"0x1\" is not an integer', fix LOCAL_RANK",
    "SLURM_LOCALID, -1, 'local rank: SLURM_LOCALID=-1 is negative', fix LOCAL_RANK",
    "JOB_COMPLETION_INDEX, -3, 'rank: JOB_COMPLETION_INDEX=-3 is negative', --rank R",
    "WORLD_SIZE,    0, 'world size: WORLD_SIZE=0 is below 1', --world-size N",
  })
  void badNumbersInTheEnvironmentNameTheVariableAndTheFix(
      final String variable, final String value, final String problem, final String fix) {
    final Map<String, String> env = new HashMap<>(Map.of("COORDINATOR", "c"));
    env.putIfAbsent("RANK", "0");
    env.putIfAbsent("WORLD_SIZE", "2");
    if (variable.equals("SLURM_PROCID") || variable.equals("JOB_COMPLETION_INDEX")) {
      env.remove("RANK");
    }
    if (variable.equals("SLURM_NTASKS")) {
      env.remove("WORLD_SIZE");
    }
    env.put(variable, value);
    final ConfigException e = failure(null, null, null, null, env);
    assertEquals(1, e.problems().size(), e.getMessage());
    assertContains(e.problems().get(0), problem, fix);
  }

  @Test
  void negativeFlagsAreRejected() {
    final ConfigException e = failure(-1, -2, "c", -3, Map.of());
    assertEquals(3, e.problems().size(), e.getMessage());
    assertContains(e.problems().get(0), "rank: --rank -1 is negative", "--rank R");
    assertContains(e.problems().get(1), "world size: --world-size -2 is negative");
    assertContains(e.problems().get(2), "device: --device -3 is negative", "--device D");
  }

  @Test
  void rankAtOrAboveTheWorldSizeNamesBothOrigins() {
    final ConfigException e =
        failure(null, null, null, null, env(SLURM, Map.of("SLURM_PROCID", "8")));
    assertEquals(1, e.problems().size(), e.getMessage());
    assertContains(
        e.problems().get(0),
        "rank: 8 (from SLURM_PROCID=8) is not below the world size 8 (from SLURM_NTASKS=8)",
        "ranks run 0 to 7",
        "--world-size N",
        "--rank R");
  }

  @Test
  void localRankAtOrAboveTheWorldSizeIsRejected() {
    final ConfigException e =
        failure(null, null, null, null, env(TORCHRUN, Map.of("LOCAL_RANK", "4")));
    assertContains(
        e.problems().get(0),
        "local rank: LOCAL_RANK=4 is not below the world size 4 (from WORLD_SIZE=4)",
        "fix LOCAL_RANK");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "node01:abc         | has port \"abc\", which is not a UDP port (1-65535)",
        "node01:70000       | has port \"70000\", which is not a UDP port (1-65535)",
        "node01:0           | has port \"0\"",
        "node01:            | has port \"\"",
        ":40100             | has no host before ':'",
        "::1:40100          | write an IPv6 address in brackets, e.g. [fd00::1]:40100",
        "[::1               | opens '[' without ']'",
        "[node01]:40100     | [node01], which is not an IPv6 address",
        "[::1]40100         | has \"40100\" after ']'; expected :port",
        "[::1]:99999        | has port \"99999\"",
        "udp://node01:40100 | has a scheme",
        "node[01-02]:40100  | looks like a Slurm hostlist",
        "no de:1            | characters other than",
        "''                 | is empty",
      })
  void malformedCoordinatorsNameTheValueAndShowTheForm(final String given, final String problem) {
    final ConfigException flag = failure(0, 1, given, null, Map.of());
    final ConfigException var = failure(0, 1, null, null, Map.of("COORDINATOR", given + "#"));
    assertEquals(1, flag.problems().size(), flag.getMessage());
    assertContains(
        flag.problems().get(0), "coordinator: --coordinator \"" + given + "\"", problem, "e.g.");
    assertContains(var.problems().get(0), "coordinator: COORDINATOR=\"" + given + "#\"");
  }

  @Test
  void badCoordinatorPortVariableIsNamed() {
    final ConfigException e =
        failure(null, null, null, null, env(SLURM, Map.of("SYNCTOWER_COORDINATOR_PORT", "forty")));
    assertContains(
        e.problems().get(0),
        "coordinator: SYNCTOWER_COORDINATOR_PORT=\"forty\" is not a UDP port (1-65535)",
        "unset it for the default 40100");
  }

  @Test
  void unreadableNodelistNamesTheVariableAndTheOverride() {
    final ConfigException e =
        failure(null, null, null, null, env(SLURM, Map.of("SLURM_JOB_NODELIST", "gpu[04-03]")));
    assertContains(
        e.problems().get(0),
        "coordinator: SLURM_JOB_NODELIST cannot be read",
        "hostlist \"gpu[04-03]\"",
        "runs backwards",
        "--coordinator HOST:PORT");
  }

  @Test
  void theRecordRejectsInconsistentValuesDirectly() {
    assertThrows(
        IllegalArgumentException.class, () -> new ClusterEnvironment(2, 2, 0, 0, "h", 1, ""));
    assertThrows(
        IllegalArgumentException.class, () -> new ClusterEnvironment(0, 1, 0, 0, "h", 0, ""));
    assertThrows(
        IllegalArgumentException.class, () -> new ClusterEnvironment(0, 1, 0, -1, "h", 1, ""));
  }
}
