package io.synctower.coordinator.cli;

import io.synctower.common.backend.LoadedBackend;
import io.synctower.common.backend.NativeMemoryReuse;
import io.synctower.common.backend.NativeVariant;
import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.checkpoint.WeightsMismatchException;
import io.synctower.common.config.ConfigException;
import io.synctower.common.data.DataException;
import io.synctower.coordinator.towers.ReplicaMismatchException;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.train.RunDirectoryException;
import io.synctower.worker.remote.TransportException;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code synctower}: the command-line entry point. */
@Command(
    name = "synctower",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Data-parallel training with batch normalization that is right by construction.",
    subcommands = {
      TrainCommand.class,
      LaunchCommand.class,
      CoordinatorCommand.class,
      WorkerCommand.class,
      DriverCommand.class,
      ExportCommand.class,
      PreciseBnCommand.class,
      DoctorCommand.class,
      BenchCommand.class,
      ScaleCommand.class,
      CommandLine.HelpCommand.class
    })
public final class SyncTowerCli implements Runnable {
  /** SLF4J simple binding's level property; simplelogger.properties sets it to warn. */
  static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--verbose",
      scope = ScopeType.INHERIT,
      description =
          "Show ND4J's own start-up log (backend, threads, build flags) and other INFO lines;"
              + " by default one line names the backend instead.")
  void verbose(final boolean on) {
    // Takes effect only before the first logger exists, which main() ensures by looking ahead.
    if (on) {
      System.setProperty(LOG_LEVEL, "info");
    }
  }

  public static void main(final String[] args) {
    // Must run before anything touches ND4J: picks the fastest native build this CPU can run.
    NativeVariant.select();
    if (!helpOrVersionOnly(args)) {
      if (Arrays.asList(args).contains("--verbose")) {
        // Before ND4J loads (below), or its start-up log is already decided.
        System.setProperty(LOG_LEVEL, "info");
      }
      final String notice =
          NativeMemoryReuse.notice(System.getenv(), System.getProperty("os.name", ""));
      if (notice != null) {
        System.err.println(notice);
      }
      System.err.println(startupLine());
    }
    System.exit(execute(args));
  }

  /** ND4J's backend in one line (loading ND4J, about a second), or why it failed to load. */
  private static String startupLine() {
    try {
      return LoadedBackend.describe().startupLine();
    } catch (RuntimeException | LinkageError e) {
      // The command will fail on the same cause with its own message; say it early and briefly.
      return "ND4J failed to load: " + e;
    }
  }

  /** True for invocations that only print text (no command, help, version): no notice there. */
  static boolean helpOrVersionOnly(final String[] args) {
    if (args.length == 0 || args[0].equals("help")) {
      return true;
    }
    for (final String a : args) {
      if (a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version")) {
        return true;
      }
    }
    return false;
  }

  /** Runs a command line and returns its exit code (2 for bad input, 1 for failures). */
  public static int execute(final String... args) {
    final CommandLine cli =
        new CommandLine(new SyncTowerCli()).setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof ConfigException
              || e instanceof DataException
              || e instanceof WeightsMismatchException
              || e instanceof CheckpointException
              || e instanceof RunDirectoryException) {
            commandLine.getErr().println("error: " + e.getMessage());
            return 2;
          }
          if (e instanceof TowerFailedException
              || e instanceof TransportException
              || e instanceof ReplicaMismatchException) {
            // The run failed for a reason the message explains; a stack trace would bury it.
            commandLine.getErr().println("error: " + e.getMessage());
            return 1;
          }
          throw e;
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
