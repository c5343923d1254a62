package io.synctower.coordinator.cli;

import io.synctower.common.checkpoint.CheckpointStore;
import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.checkpoint.TrainingSnapshot;
import io.synctower.common.checkpoint.WeightLayout;
import io.synctower.common.checkpoint.WeightsFile;
import io.synctower.common.config.ConfigException;
import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.worker.assembly.Replicas;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code synctower export}: a checkpoint's weights in the interop format. */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Write the weights (parameters and BN moving statistics) of a checkpoint as .npz.",
      "Needs only the checkpoint: the model is rebuilt from the config.yaml stored in it."
    })
final class ExportCommand implements Callable<Integer> {
  @Option(
      names = "--checkpoint",
      required = true,
      paramLabel = "DIR",
      description =
          "A checkpoint directory (RUN_DIR/checkpoints/step-...), a run directory (its latest"
              + " checkpoint), or RUN_DIR/best (early stopping's best epoch).")
  Path checkpoint;

  @Option(
      names = "--format",
      defaultValue = "npz",
      paramLabel = "FORMAT",
      description = "Output format: npz (default; np.load gives a state_dict-like mapping).")
  String format;

  @Option(
      names = {"--out", "-o"},
      paramLabel = "FILE",
      description = "Output file (default: weights-step-N.npz next to the checkpoints).")
  Path out;

  @Option(
      names = "--weights-layout",
      paramLabel = "LAYOUT",
      defaultValue = "PYTORCH",
      description = "Tensor layout and names: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
  WeightLayout layout;

  @Override
  public Integer call() {
    if (!format.equalsIgnoreCase("npz")) {
      throw new ConfigException(
          "--format", List.of("unknown format '" + format + "'; the supported format is npz"));
    }
    // A run directory, a checkpoint store (RUN_DIR/best, early stopping's best epoch), or one
    // checkpoint directory.
    final StoredCheckpoint cp =
        Files.isDirectory(checkpoint.resolve("checkpoints"))
            ? new CheckpointStore(checkpoint.resolve("checkpoints")).loadLatest()
            : Files.isRegularFile(checkpoint.resolve("latest"))
                ? new CheckpointStore(checkpoint).loadLatest()
                : CheckpointStore.load(checkpoint);
    final RunConfig config =
        ConfigLoader.parse(cp.text("config.yaml"), cp.file("config.yaml").toString(), Map.of());
    final Model model = Replicas.newModel(config, TrainingSnapshot.inputShape(cp));
    TrainingSnapshot.restoreWeights(cp, model);
    final Path file =
        out != null
            ? out
            : cp.directory()
                .toAbsolutePath()
                .getParent()
                .getParent()
                .resolve(String.format("weights-step-%08d.npz", cp.step()));
    WeightsFile.save(model, file, layout);
    System.out.println(
        "weights of step " + cp.step() + " (" + cp.directory() + ") written to " + file);
    return 0;
  }
}
