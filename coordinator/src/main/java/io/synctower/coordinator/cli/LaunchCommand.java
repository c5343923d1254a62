package io.synctower.coordinator.cli;

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
      "prefixed with [tower r], and stops them all on Ctrl-C or when any of them fails.",
      "--resume RUN_DIR: continue a stopped run from its latest checkpoint, as train",
      "does."
    })
final class LaunchCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();
  @Mixin ResumeOptions resume = new ResumeOptions();
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
    // Every problem of the configuration, its data and its shapes (and of the checkpoint to
    // resume), before any JVM is spawned.
    // The run directory too: owned, writable and empty (or resumable) before any JVM is spawned.
    try (RunStart start = RunStart.of(resume, configOptions, run, false, System.out)) {
      final LocalLaunch.Workers workers =
          workerOptions.workers(start.config().towers(), kind, start.dataBase(), System.out);
      return LocalLaunch.run(
          workers,
          (aeron, bind, secret, onJoined) -> {
            try {
              return RemoteTraining.run(
                  start,
                  "launch",
                  run,
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
