package io.synctower.coordinator.cli;

import io.synctower.common.config.ConfigException;
import io.synctower.common.protocol.JoinAuth;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options of every command that talks to worker processes over Aeron. */
final class TransportOptions {
  static final String SECRET_FILE_ENV = "SYNCTOWER_SECRET_FILE";
  static final String SECRET_ENV = "SYNCTOWER_SECRET";

  @Option(
      names = "--secret-file",
      paramLabel = "FILE",
      description = {
        "The run's secret (hex, e.g. from `openssl rand -hex 32`; chmod 600). Workers prove it",
        "to join. Default: $" + SECRET_FILE_ENV + ", else $" + SECRET_ENV + " (the hex itself)."
      })
  Path secretFile;

  @Option(
      names = "--aeron-dir",
      paramLabel = "DIR",
      description = {
        "Use the media driver in DIR (e.g. a standalone `synctower driver`) instead of an",
        "embedded one. Workers over IPC need the coordinator's (launch passes it)."
      })
  String aeronDir;

  @Option(
      names = "--heartbeat-interval",
      paramLabel = "DURATION",
      defaultValue = "500ms",
      converter = DurationConverter.class,
      description = "How often both sides send heartbeats (default ${DEFAULT-VALUE}).")
  Duration heartbeatInterval;

  @Option(
      names = "--heartbeat-timeout",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description = {
        "A tower (or the coordinator) silent this long is lost: the run stops with an error",
        "naming it (default ${DEFAULT-VALUE})."
      })
  Duration heartbeatTimeout;

  @Option(
      names = "--join-timeout",
      paramLabel = "DURATION",
      defaultValue = "120s",
      converter = DurationConverter.class,
      description = "How long to wait for every tower to join (default ${DEFAULT-VALUE}).")
  Duration joinTimeout;

  /** The secret from --secret-file, $SYNCTOWER_SECRET_FILE or $SYNCTOWER_SECRET. */
  byte[] secret(final Map<String, String> env) {
    try {
      return readSecret(env);
    } catch (ConfigException e) {
      throw e; // already names the option and the fix (wrapping it printed the message twice)
    } catch (IllegalArgumentException | IOException e) {
      throw new ConfigException(
          "--secret-file",
          List.of(
              (e instanceof java.nio.file.NoSuchFileException
                      ? "no such file: " + e.getMessage()
                      : e.getMessage())
                  + " (create one with `umask 077; openssl rand -hex 32 > FILE`)"));
    }
  }

  private byte[] readSecret(final Map<String, String> env) throws IOException {
    if (secretFile != null) {
      return JoinAuth.readSecret(secretFile);
    }
    if (env.get(SECRET_FILE_ENV) != null && !env.get(SECRET_FILE_ENV).isBlank()) {
      return JoinAuth.readSecret(Path.of(env.get(SECRET_FILE_ENV)));
    }
    if (env.get(SECRET_ENV) != null && !env.get(SECRET_ENV).isBlank()) {
      return JoinAuth.parseSecret(
          env.get(SECRET_ENV).getBytes(StandardCharsets.UTF_8), "$" + SECRET_ENV);
    }
    throw new ConfigException(
        "--secret-file",
        List.of(
            "no run secret: pass --secret-file FILE or set "
                + SECRET_FILE_ENV
                + " (create one with `umask 077; openssl rand -hex 32 > FILE`); every process of"
                + " the run needs the same secret"));
  }

  /** The highest UDP port. */
  static final int MAX_PORT = 65_535;

  /**
   * Refuses a UDP port outside 1..65535 before anything starts (Aeron would fail only once the
   * transport, or a worker JVM, is up).
   *
   * @param option the option that set it, e.g. {@code --port}
   */
  static void checkPort(final String option, final long port) {
    if (port < 1 || port > MAX_PORT) {
      throw new ConfigException(
          option,
          List.of(
              option
                  + " "
                  + port
                  + " is not a UDP port: use a number from 1 to "
                  + MAX_PORT
                  + " (e.g. the default)"));
    }
  }

  /**
   * Refuses a listening address that is not a host name or IP address of its own (no port, no URL),
   * or that does not resolve, before anything starts.
   *
   * @param option the option that set it, e.g. {@code --bind}
   */
  static void checkHost(final String option, final String host) {
    final String problem;
    final long colons = host.chars().filter(c -> c == ':').count();
    if (host.isBlank()) {
      problem = "is empty";
    } else if (colons == 1 || !host.matches("[A-Za-z0-9._:%\\-]+")) {
      // One colon is host:port (an IPv6 address has at least two).
      problem = "is not a host name or IP address (the port goes in --port)";
    } else {
      problem = resolves(host) ? null : "does not resolve to an address";
    }
    if (problem != null) {
      throw new ConfigException(
          option,
          List.of(
              option
                  + " '"
                  + host
                  + "' "
                  + problem
                  + ": use an interface address of this host, e.g. 127.0.0.1 (this host only) or"
                  + " 0.0.0.0 (every interface)"));
    }
  }

  private static boolean resolves(final String host) {
    try {
      java.net.InetAddress.getByName(host);
      return true;
    } catch (java.net.UnknownHostException | SecurityException e) {
      return false;
    }
  }

  void checkHeartbeats() {
    if (heartbeatTimeout.compareTo(heartbeatInterval.multipliedBy(3)) < 0) {
      throw new ConfigException(
          "--heartbeat-timeout",
          List.of(
              "--heartbeat-timeout "
                  + heartbeatTimeout.toMillis()
                  + "ms must be at least 3 x --heartbeat-interval ("
                  + heartbeatInterval.toMillis()
                  + "ms), or one late heartbeat loses a healthy tower"));
    }
  }
}
