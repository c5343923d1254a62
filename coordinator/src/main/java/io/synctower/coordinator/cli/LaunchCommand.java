package io.synctower.coordinator.cli;

import io.synctower.coordinator.train.RunDirectory;
import io.synctower.worker.transport.TransportKind;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code synctower launch}: coordinator plus N worker processes on this host, one command. */
@Command(
    name = "launch",
    mixinStandardHelpOptions = true,
    description = {
      "Train with --towers worker processes on this host: starts the coordinator (this process,",
      "with an embedded Aeron media driver) and one worker process per tower, streams their logs",
      "prefixed with [tower r], and stops them all on Ctrl-C or when any of them fails."
    })
final class LaunchCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();
  @Mixin RunOptions run = new RunOptions();
  @Mixin LocalWorkerOptions workerOptions = new LocalWorkerOptions();

  @Option(
      names = "--transport",
      defaultValue = "IPC",
      description = "ipc (shared memory, default) or udp (loopback, as between hosts).")
  TransportKind kind;

  @Override
  public Integer call() throws Exception {
    workerOptions.check();
    // Every problem of the configuration, its data and its shapes, before any JVM is spawned.
    final ConfigOptions.Checked checked = configOptions.loadChecked(run.overrides());
    final LocalLaunch.Workers workers =
        workerOptions.workers(checked.config().towers(), kind, configOptions.base(), System.out);
    // The run directory too: owned, writable and empty before any JVM is spawned.
    try (RunDirectory dir = run.createRunDirectory(checked.config(), System.out)) {
      return LocalLaunch.run(
          workers,
          (aeron, bind, secret, onJoined) -> {
            try {
              return RemoteTraining.run(
                  checked,
                  run,
                  dir.path(),
                  workerOptions.transport,
                  aeron,
                  kind,
                  bind,
                  secret,
                  onJoined);
            } catch (InterruptedException e) {
              System.out.println(
                  "launch: stopped: a worker exited during start-up (its log is above)");
              return 1;
            }
          });
    }
  }
}
