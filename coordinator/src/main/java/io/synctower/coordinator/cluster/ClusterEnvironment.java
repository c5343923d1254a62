package io.synctower.coordinator.cluster;

import io.synctower.common.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * Where one worker process sits in a multi-host job: its rank among {@code worldSize} workers, its
 * index on its own host, the device it drives, and the coordinator it reports to.
 *
 * <p>{@link #resolve} fills each field from the first of these that provides it:
 *
 * <ol>
 *   <li>explicit flags ({@code --rank}, {@code --world-size}, {@code --coordinator}, {@code
 *       --device});
 *   <li>torchrun's variables {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code
 *       LOCAL_WORLD_SIZE}, {@code MASTER_ADDR} and {@code MASTER_PORT} (the coordinator's host and
 *       UDP port), and SyncTower's {@code COORDINATOR=host:port}, which wins over {@code
 *       MASTER_ADDR};
 *   <li>Slurm: {@code SLURM_PROCID} (rank), {@code SLURM_NTASKS} (world size), {@code
 *       SLURM_LOCALID} (local rank), the first host of {@code SLURM_JOB_NODELIST} (coordinator);
 *   <li>a Kubernetes indexed Job: {@code JOB_COMPLETION_INDEX} (rank; local rank 0, one pod per
 *       rank). The index alone does not give the world size or the coordinator: the Job sets {@code
 *       WORLD_SIZE} and {@code COORDINATOR}.
 * </ol>
 *
 * <p>Fields resolve independently, so mixes work (Slurm's rank with an explicit coordinator). A
 * coordinator given without a port, or taken from the nodelist, uses {@code
 * SYNCTOWER_COORDINATOR_PORT} or {@value #DEFAULT_COORDINATOR_PORT}. Without {@code LOCAL_RANK} or
 * {@code SLURM_LOCALID} the local rank is 0 in an indexed Job and the rank otherwise (several
 * workers on one host, the default loopback set-up); {@code LOCAL_WORLD_SIZE}, when set, bounds it.
 * The device is {@code --device}, else the local rank among the GPUs {@code CUDA_VISIBLE_DEVICES}
 * lists (device 0 when it lists one: the launcher gave each process its own GPU), else the local
 * rank. A variable set to the empty string counts as unset.
 *
 * <pre>{@code
 * ClusterEnvironment where = ClusterEnvironment.resolve(rank, worldSize, coordinator, device,
 *     System.getenv()); // ConfigException (exit code 2) lists every problem at once
 * log.info("rank {} of {} from {}", where.rank(), where.worldSize(), where.source());
 * }</pre>
 *
 * @param rank this worker's rank, {@code 0 <= rank < worldSize}
 * @param worldSize the number of workers in the job, at least 1
 * @param localRank this worker's index among the workers on its host (its port offset)
 * @param device the device index this worker drives
 * @param coordinatorHost the coordinator's host name or address; an IPv6 literal without brackets
 * @param coordinatorPort the coordinator's UDP port, 1-65535
 * @param source where each value came from, for the log, e.g. {@code Slurm (SLURM_PROCID=3, ...)}
 */
public record ClusterEnvironment(
    int rank,
    int worldSize,
    int localRank,
    int device,
    String coordinatorHost,
    int coordinatorPort,
    String source) {

  /** The coordinator's UDP port when nothing names one. */
  public static final int DEFAULT_COORDINATOR_PORT = 40100;

  /** Checks the invariants; user input goes through {@link #resolve}, which explains its errors. */
  public ClusterEnvironment {
    Objects.requireNonNull(coordinatorHost, "coordinatorHost");
    Objects.requireNonNull(source, "source");
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException(
          "need 0 <= rank < worldSize, got rank " + rank + ", worldSize " + worldSize);
    }
    if (localRank < 0 || localRank >= worldSize) {
      throw new IllegalArgumentException(
          "need 0 <= localRank < worldSize, got " + localRank + ", worldSize " + worldSize);
    }
    if (device < 0) {
      throw new IllegalArgumentException("device must be >= 0, got " + device);
    }
    if (coordinatorHost.isBlank() || coordinatorPort < 1 || coordinatorPort > 65535) {
      throw new IllegalArgumentException(
          "bad coordinator address " + coordinatorHost + " port " + coordinatorPort);
    }
  }

  /** {@code host:port}, with an IPv6 address in brackets ({@code [fd00::1]:40100}), as Aeron's. */
  public String coordinatorEndpoint() {
    return (coordinatorHost.indexOf(':') >= 0 ? "[" + coordinatorHost + "]" : coordinatorHost)
        + ":"
        + coordinatorPort;
  }

  /**
   * Resolves this worker's place in the job from its flags and environment.
   *
   * @param rankFlag {@code --rank}, or null when not given
   * @param worldSizeFlag {@code --world-size}, or null
   * @param coordinatorFlag {@code --coordinator host:port} ({@code [v6addr]:port}; the port may be
   *     left out), or null
   * @param deviceFlag {@code --device}, or null
   * @param env the process environment, usually {@link System#getenv()}; not kept
   * @throws ConfigException listing every missing, malformed or inconsistent value, each naming the
   *     field, the value, the variable or flag it came from, and the fix
   */
  public static ClusterEnvironment resolve(
      final Integer rankFlag,
      final Integer worldSizeFlag,
      final String coordinatorFlag,
      final Integer deviceFlag,
      final Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    return new Resolver(env).resolve(rankFlag, worldSizeFlag, coordinatorFlag, deviceFlag);
  }

  /** The conventions, in order of precedence; also the order of {@link #source()}. */
  private enum Convention {
    FLAGS("flags"),
    ENVIRONMENT("environment"),
    SLURM("Slurm"),
    KUBERNETES("Kubernetes indexed Job"),
    DEFAULTS("defaults");

    private final String label;

    Convention(final String label) {
      this.label = label;
    }
  }

  /** A raw value and where it came from: a flag or an environment variable. */
  private record Candidate(Convention convention, String name, String raw) {
    /** As the user would write it: {@code --rank 3} or {@code SLURM_PROCID=3}. */
    String shown() {
      return convention == Convention.FLAGS ? name + " " + raw : name + "=" + raw;
    }

    /** For error messages, quoted so that stray characters show. */
    String quoted() {
      return convention == Convention.FLAGS ? name + " \"" + raw + "\"" : name + "=\"" + raw + "\"";
    }
  }

  /** A resolved value; {@code from} is null when it was derived rather than read. */
  private record Value(int value, Candidate from) {}

  private record Endpoint(String host, Integer port) {}

  private static final String RANK_FIX =
      "a rank is 0 to world size - 1; set it with --rank R or RANK";
  private static final String WORLD_SIZE_FIX =
      "the world size is the number of workers, at least 1; set it with --world-size N or"
          + " WORLD_SIZE";
  private static final String LOCAL_RANK_FIX =
      "the local rank is this worker's index among the workers on its host (0, 1, ...); fix"
          + " LOCAL_RANK";
  private static final String LOCAL_WORLD_SIZE_FIX =
      "LOCAL_WORLD_SIZE is the number of workers on this host and LOCAL_RANK this worker's index"
          + " among them (0 to LOCAL_WORLD_SIZE - 1); fix whichever is wrong";
  private static final String DEVICE_FIX =
      "a device is a GPU index on this host (0, 1, ...); set it with --device D";
  private static final String ENDPOINT_EXAMPLE = "e.g. node01:40100 or [fd00::1]:40100";

  /** One resolution: collects every problem and where each value came from. */
  private static final class Resolver {
    private final Map<String, String> env;
    private final List<String> problems = new ArrayList<>();
    private final Map<Convention, List<String>> used = new EnumMap<>(Convention.class);

    Resolver(final Map<String, String> env) {
      this.env = env;
    }

    ClusterEnvironment resolve(
        final Integer rankFlag,
        final Integer worldSizeFlag,
        final String coordinatorFlag,
        final Integer deviceFlag) {
      final boolean indexedJob = env(Convention.KUBERNETES, "JOB_COMPLETION_INDEX") != null;

      final Candidate rankFrom =
          first(
              flag("--rank", rankFlag),
              env(Convention.ENVIRONMENT, "RANK"),
              env(Convention.SLURM, "SLURM_PROCID"),
              env(Convention.KUBERNETES, "JOB_COMPLETION_INDEX"));
      if (rankFrom == null) {
        problems.add(
            "rank: not set; pass --rank R or set RANK (0 to world size - 1); srun sets"
                + " SLURM_PROCID and a Kubernetes indexed Job sets JOB_COMPLETION_INDEX, which"
                + " provide it too");
      }
      final Value rank = nonNegative("rank", rankFrom, RANK_FIX);

      final Candidate worldSizeFrom =
          first(
              flag("--world-size", worldSizeFlag),
              env(Convention.ENVIRONMENT, "WORLD_SIZE"),
              env(Convention.SLURM, "SLURM_NTASKS"));
      if (worldSizeFrom == null) {
        problems.add(
            "world size: not set; pass --world-size N or set WORLD_SIZE (the number of workers);"
                + " srun sets SLURM_NTASKS, which provides it too"
                + (indexedJob
                    ? "; in a Kubernetes indexed Job set env WORLD_SIZE to the Job's completions"
                        + " (JOB_COMPLETION_INDEX alone does not say how many pods there are)"
                    : ""));
      }
      Value worldSize = nonNegative("world size", worldSizeFrom, WORLD_SIZE_FIX);
      if (worldSize != null && worldSize.value < 1) {
        problems.add("world size: " + worldSize.from.shown() + " is below 1; " + WORLD_SIZE_FIX);
        worldSize = null;
      }

      final Candidate localRankFrom =
          first(env(Convention.ENVIRONMENT, "LOCAL_RANK"), env(Convention.SLURM, "SLURM_LOCALID"));
      final Value localRank;
      if (localRankFrom != null) {
        localRank = nonNegative("local rank", localRankFrom, LOCAL_RANK_FIX);
      } else if (indexedJob) {
        localRank = derived(0, Convention.KUBERNETES, "local rank 0: one pod per rank");
      } else if (rank != null) {
        localRank =
            derived(rank.value, Convention.DEFAULTS, "local rank = rank: workers on one host");
      } else {
        localRank = null;
      }

      final Value localWorldSize =
          nonNegative(
              "local world size",
              env(Convention.ENVIRONMENT, "LOCAL_WORLD_SIZE"),
              LOCAL_WORLD_SIZE_FIX);
      if (localWorldSize != null && localRank != null && localRank.value >= localWorldSize.value) {
        problems.add(
            "local rank: "
                + (localRank.from == null ? localRank.value : localRank.from.shown())
                + " is not below "
                + localWorldSize.from.shown()
                + "; "
                + LOCAL_WORLD_SIZE_FIX);
      }

      final Value device;
      if (deviceFlag != null) {
        device = nonNegative("device", flag("--device", deviceFlag), DEVICE_FIX);
      } else if (localRank != null) {
        device = deviceOf(localRank);
      } else {
        device = null;
      }

      if (rank != null && worldSize != null && rank.value >= worldSize.value) {
        problems.add(
            "rank: "
                + rank.value
                + " (from "
                + rank.from.shown()
                + ") is not below the world size "
                + worldSize.value
                + " (from "
                + worldSize.from.shown()
                + "); ranks run 0 to "
                + (worldSize.value - 1)
                + ": give every worker the same world size (--world-size N or WORLD_SIZE) and a"
                + " distinct rank below it (--rank R or RANK)");
      }
      if (localRankFrom != null
          && localRank != null
          && worldSize != null
          && localRank.value >= worldSize.value) {
        problems.add(
            "local rank: "
                + localRank.from.shown()
                + " is not below the world size "
                + worldSize.value
                + " (from "
                + worldSize.from.shown()
                + "); "
                + LOCAL_RANK_FIX);
      }

      final Endpoint coordinator = coordinator(coordinatorFlag, indexedJob);

      if (!problems.isEmpty()) {
        throw new ConfigException("the worker's flags and environment", problems);
      }
      return new ClusterEnvironment(
          rank.value,
          worldSize.value,
          localRank.value,
          device.value,
          coordinator.host,
          coordinator.port,
          source());
    }

    /**
     * The device of a worker with {@code localRank} and no {@code --device}: its index among the
     * GPUs {@code CUDA_VISIBLE_DEVICES} shows this process (0 when it shows one: Slurm's {@code
     * --gpus-per-task} and Kubernetes give each process its own), else the local rank.
     */
    private Value deviceOf(final Value localRank) {
      final Candidate visible = env(Convention.ENVIRONMENT, "CUDA_VISIBLE_DEVICES");
      if (visible == null) {
        return derived(localRank.value, Convention.DEFAULTS, "device = local rank");
      }
      final long gpus = Arrays.stream(visible.raw.split(",")).filter(id -> !id.isBlank()).count();
      if (gpus == 1) {
        return derived(0, Convention.ENVIRONMENT, visible.shown() + " -> device 0");
      }
      if (localRank.value >= gpus) {
        problems.add(
            "device: local rank "
                + localRank.value
                + " has no GPU of its own in "
                + visible.quoted()
                + " ("
                + gpus
                + " listed); list one GPU per worker on this host, pass --device D, or unset"
                + " CUDA_VISIBLE_DEVICES for a CPU run");
        return null;
      }
      return derived(
          localRank.value, Convention.ENVIRONMENT, "device = local rank among " + visible.shown());
    }

    /** The coordinator's host and port, or null after recording why not. */
    private Endpoint coordinator(final String coordinatorFlag, final boolean indexedJob) {
      final Candidate given =
          first(
              coordinatorFlag == null
                  ? null
                  : new Candidate(Convention.FLAGS, "--coordinator", coordinatorFlag),
              env(Convention.ENVIRONMENT, "COORDINATOR"));
      final Candidate masterAddr = env(Convention.ENVIRONMENT, "MASTER_ADDR");
      final Candidate nodelist = env(Convention.SLURM, "SLURM_JOB_NODELIST");
      final String host;
      Integer port = null;
      if (given != null) {
        final Endpoint parsed = parseEndpoint(given);
        if (parsed == null) {
          return null;
        }
        host = parsed.host;
        port = parsed.port;
        used(given.convention, given.shown());
      } else if (masterAddr != null) {
        // torchrun's rendezvous host; a port in it is not torchrun's convention.
        final Endpoint parsed = parseEndpoint(masterAddr);
        if (parsed == null) {
          return null;
        }
        if (parsed.port != null) {
          problems.add(
              "coordinator: "
                  + masterAddr.quoted()
                  + " has a port; torchrun's MASTER_ADDR is a host only: put the port in"
                  + " MASTER_PORT");
          return null;
        }
        host = parsed.host;
        used(Convention.ENVIRONMENT, masterAddr.shown());
      } else if (nodelist != null) {
        try {
          host = HostList.first(nodelist.raw);
        } catch (final IllegalArgumentException e) {
          problems.add(
              "coordinator: SLURM_JOB_NODELIST cannot be read: "
                  + e.getMessage()
                  + "; pass --coordinator HOST:PORT or set COORDINATOR=host:port");
          return null;
        }
        used(Convention.SLURM, nodelist.shown() + " -> " + host);
      } else {
        problems.add(
            "coordinator: not set; pass --coordinator HOST:PORT, set COORDINATOR=host:port or"
                + " torchrun's MASTER_ADDR and MASTER_PORT (the"
                + " coordinator's address as the workers reach it, "
                + ENDPOINT_EXAMPLE
                + "); under Slurm the first host of SLURM_JOB_NODELIST is used"
                + (indexedJob
                    ? "; in a Kubernetes indexed Job set env COORDINATOR to pod 0's stable DNS"
                        + " name through the headless Service, e.g. <job>-0.<service>:40100"
                    : ""));
        return null;
      }
      if (port == null) {
        final Candidate portVar =
            given == null && masterAddr != null
                ? first(
                    env(Convention.ENVIRONMENT, "MASTER_PORT"),
                    env(Convention.ENVIRONMENT, "SYNCTOWER_COORDINATOR_PORT"))
                : env(
                    nodelist != null && given == null ? Convention.SLURM : Convention.ENVIRONMENT,
                    "SYNCTOWER_COORDINATOR_PORT");
        if (portVar == null) {
          port = DEFAULT_COORDINATOR_PORT;
          used(Convention.DEFAULTS, "coordinator port " + DEFAULT_COORDINATOR_PORT);
        } else {
          port = parsePort(portVar.raw);
          if (port == null) {
            problems.add(
                "coordinator: "
                    + portVar.quoted()
                    + " is not a UDP port (1-65535); fix it, or unset it for the default "
                    + DEFAULT_COORDINATOR_PORT);
            return null;
          }
          used(portVar.convention, portVar.shown());
        }
      }
      return new Endpoint(host, port);
    }

    /** {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}; null if malformed. */
    private Endpoint parseEndpoint(final Candidate from) {
      final String text = from.raw.strip();
      final String where = "coordinator: " + from.quoted();
      if (text.isEmpty()) {
        problems.add(where + " is empty; give host:port, " + ENDPOINT_EXAMPLE);
        return null;
      }
      if (text.contains("://")) {
        problems.add(where + " has a scheme; give host:port without it, " + ENDPOINT_EXAMPLE);
        return null;
      }
      final String host;
      final String portText;
      if (text.startsWith("[")) {
        final int close = text.indexOf(']');
        if (close < 0) {
          problems.add(
              where
                  + " opens '[' without ']'; write an IPv6 address as [address]:port, "
                  + ENDPOINT_EXAMPLE);
          return null;
        }
        host = text.substring(1, close);
        if (!isV6Literal(host)) {
          problems.add(
              where
                  + " has ["
                  + host
                  + "], which is not an IPv6 address; brackets are only for IPv6, "
                  + ENDPOINT_EXAMPLE);
          return null;
        }
        final String rest = text.substring(close + 1);
        if (rest.isEmpty()) {
          portText = null;
        } else if (rest.startsWith(":")) {
          portText = rest.substring(1);
        } else {
          problems.add(
              where + " has \"" + rest + "\" after ']'; expected :port, " + ENDPOINT_EXAMPLE);
          return null;
        }
      } else {
        final int colon = text.indexOf(':');
        if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
          problems.add(
              where + " has several ':'; write an IPv6 address in brackets, e.g. [fd00::1]:40100");
          return null;
        }
        host = colon < 0 ? text : text.substring(0, colon);
        portText = colon < 0 ? null : text.substring(colon + 1);
        if (host.isEmpty()) {
          problems.add(where + " has no host before ':'; write host:port, " + ENDPOINT_EXAMPLE);
          return null;
        }
        if (host.indexOf('[') >= 0 || host.indexOf(',') >= 0) {
          problems.add(
              where
                  + " looks like a Slurm hostlist; give the one host the coordinator runs on, "
                  + ENDPOINT_EXAMPLE);
          return null;
        }
        if (!host.chars().allMatch(Resolver::isHostChar)) {
          problems.add(
              where
                  + " has a host name with characters other than letters, digits, '-', '.', '_'; "
                  + ENDPOINT_EXAMPLE);
          return null;
        }
      }
      if (portText == null) {
        return new Endpoint(host, null);
      }
      final Integer port = parsePort(portText);
      if (port == null) {
        problems.add(
            where
                + " has port \""
                + portText
                + "\", which is not a UDP port (1-65535); write host:port, "
                + ENDPOINT_EXAMPLE
                + ", or leave the port out for "
                + DEFAULT_COORDINATOR_PORT);
        return null;
      }
      return new Endpoint(host, port);
    }

    private static Integer parsePort(final String text) {
      final Integer port = parseInt(text.strip());
      return port != null && port >= 1 && port <= 65535 ? port : null;
    }

    private static Integer parseInt(final String text) {
      if (text.isEmpty() || !text.chars().allMatch(c -> c == '-' || (c >= '0' && c <= '9'))) {
        return null;
      }
      try {
        return Integer.parseInt(text);
      } catch (final NumberFormatException e) {
        return null;
      }
    }

    private static boolean isHostChar(final int c) {
      return (c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_';
    }

    /** Hex digits, ':' and '.' (an embedded IPv4), then an optional {@code %zone}. */
    private static boolean isV6Literal(final String text) {
      final int percent = text.indexOf('%');
      final String address = percent < 0 ? text : text.substring(0, percent);
      final String zone = percent < 0 ? "x" : text.substring(percent + 1);
      return address.indexOf(':') >= 0
          && address.chars().allMatch(Resolver::isV6Char)
          && !zone.isEmpty()
          && zone.chars().allMatch(Resolver::isHostChar);
    }

    private static boolean isV6Char(final int c) {
      return (c >= '0' && c <= '9')
          || (c >= 'a' && c <= 'f')
          || (c >= 'A' && c <= 'F')
          || c == ':'
          || c == '.';
    }

    /** The value of {@code from}, or null after recording why it is not a non-negative integer. */
    private Value nonNegative(final String field, final Candidate from, final String fix) {
      if (from == null) {
        return null;
      }
      final Integer value = parseInt(from.raw.strip());
      if (value == null) {
        problems.add(field + ": " + from.quoted() + " is not an integer; " + fix);
        return null;
      }
      if (value < 0) {
        problems.add(field + ": " + from.shown() + " is negative; " + fix);
        return null;
      }
      used(from.convention, from.shown());
      return new Value(value, from);
    }

    private Value derived(final int value, final Convention convention, final String why) {
      used(convention, why);
      return new Value(value, null);
    }

    private static Candidate flag(final String name, final Integer value) {
      return value == null ? null : new Candidate(Convention.FLAGS, name, value.toString());
    }

    private Candidate env(final Convention convention, final String name) {
      final String value = env.get(name);
      return value == null || value.isBlank() ? null : new Candidate(convention, name, value);
    }

    private static Candidate first(final Candidate... candidates) {
      for (final Candidate c : candidates) {
        if (c != null) {
          return c;
        }
      }
      return null;
    }

    private void used(final Convention convention, final String what) {
      used.computeIfAbsent(convention, c -> new ArrayList<>()).add(what);
    }

    private String source() {
      final StringJoiner all = new StringJoiner("; ");
      used.forEach(
          (convention, items) -> all.add(convention.label + " (" + String.join(", ", items) + ")"));
      return all.toString();
    }
  }
}
