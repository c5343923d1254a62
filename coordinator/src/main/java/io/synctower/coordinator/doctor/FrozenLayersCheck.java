package io.synctower.coordinator.doctor;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.Layer;
import io.synctower.common.nn.LayerNames;
import io.synctower.common.nn.Model;
import java.util.ArrayList;
import java.util.List;

/**
 * Frozen layers and BN (seed 002: a frozen pretrained backbone whose BN layers still normalized
 * with mini-batch statistics, so validation collapsed). A frozen BN layer ({@code trainable:
 * false}) in SyncTower normalizes with its moving statistics by construction, so two traps are
 * left:
 *
 * <ul>
 *   <li>a backbone whose conv/dense layers are frozen but whose BN layers among them (before the
 *       last frozen conv/dense layer) are trainable: they normalize with batch statistics, update
 *       their moving statistics from the new data and train gamma and beta, so the "frozen"
 *       backbone drifts. WARN, naming each layer;
 *   <li>a frozen BN layer whose moving statistics are still exactly the initial mean 0, variance 1:
 *       nothing was imported into it, so it normalizes with statistics of no data at all. PROBLEM.
 * </ul>
 */
final class FrozenLayersCheck implements Check {
  private static final String NAME = "frozen layers";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Finding examine(final Evidence evidence) {
    final Model model = evidence.model();
    // By model layer, not by spec: a residual block is one spec but many layers.
    int lastFrozenWeights = -1;
    final List<String> frozenWeights = new ArrayList<>();
    for (int i = 0; i < model.layers().size(); i++) {
      if (frozenWeightLayer(model.layers().get(i))) {
        lastFrozenWeights = i;
        frozenWeights.add(model.layers().get(i).name());
      }
    }
    final List<String> trainableInBackbone = new ArrayList<>();
    final List<String> frozenUnloaded = new ArrayList<>();
    final List<String> frozenLoaded = new ArrayList<>();
    final List<String> backbone = new ArrayList<>();
    final List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i < model.layers().size(); i++) {
      final Layer layer = model.layers().get(i);
      if (i <= lastFrozenWeights && (layer.hasTrainableParameters() || frozen(layer))) {
        backbone.add(layer.name());
      }
      if (!(layer instanceof BatchNorm bn)) {
        continue;
      }
      if (bn.trainable() && i < lastFrozenWeights) {
        trainableInBackbone.add(bn.name());
        rows.add(List.of(bn.name(), "trainable, inside the frozen backbone", "batch statistics"));
      } else if (!bn.trainable()) {
        final boolean initial = initial(model, bn);
        (initial ? frozenUnloaded : frozenLoaded).add(bn.name());
        rows.add(
            List.of(
                bn.name(),
                "frozen",
                initial ? "moving statistics still mean 0, variance 1" : "moving statistics"));
      }
    }
    final Table table = new Table(List.of("layer", "state", "normalizes with"), rows);
    if (frozenWeights.isEmpty() && frozenUnloaded.isEmpty() && frozenLoaded.isEmpty()) {
      return Finding.ok(NAME, "no frozen layer", Table.none());
    }
    if (!frozenUnloaded.isEmpty()) {
      return new Finding(
          NAME,
          Severity.PROBLEM,
          String.join(", ", frozenUnloaded)
              + " frozen with moving statistics still mean 0, variance 1: never loaded",
          "A frozen BN layer normalizes with its moving statistics and never updates them; still"
              + " at their initial values they describe no data, so the layer passes its input"
              + " through unnormalized, unlike the pretrained network it belongs to.",
          "load the pretrained statistics with the weights: train --init-weights W.npz"
              + " --init-layers "
              + String.join(
                  ",",
                  LayerNames.shortest(
                      backbone.isEmpty() ? frozenUnloaded : union(backbone, frozenUnloaded),
                      model.layers().stream().map(Layer::name).toList()))
              + "; or, training from scratch, set trainable: true on "
              + String.join(", ", frozenUnloaded),
          table);
    }
    if (!trainableInBackbone.isEmpty()) {
      return new Finding(
          NAME,
          Severity.WARN,
          String.join(", ", trainableInBackbone)
              + " trainable inside a frozen backbone ("
              + String.join(", ", frozenWeights)
              + " frozen)",
          "These BN layers normalize with batch statistics, move their statistics to the new data"
              + " and train gamma and beta, so the frozen backbone's features drift (seed 002)."
              + " Fine-tuning BN on purpose is fine; freezing the backbone with them left out"
              + " usually is not.",
          "set trainable: false on "
              + String.join(", ", trainableInBackbone)
              + " (or add them to model.frozen: a preset's layers take no per-layer keys)",
          table);
    }
    return Finding.ok(
        NAME,
        (frozenWeights.isEmpty() ? "" : String.join(", ", frozenWeights) + " frozen; ")
            + (frozenLoaded.isEmpty()
                ? "no BN layer inside the frozen part"
                : String.join(", ", frozenLoaded)
                    + " frozen, normalizing with loaded moving statistics"),
        table);
  }

  private static List<String> union(final List<String> a, final List<String> b) {
    final List<String> out = new ArrayList<>(a);
    b.stream().filter(n -> !out.contains(n)).forEach(out::add);
    return out;
  }

  /** A conv or dense layer with weights, none of them trained ({@code trainable: false}). */
  private static boolean frozenWeightLayer(final Layer layer) {
    return !(layer instanceof BatchNorm)
        && !layer.tensors().isEmpty()
        && !layer.hasTrainableParameters();
  }

  private static boolean frozen(final Layer layer) {
    return frozenWeightLayer(layer) || (layer instanceof BatchNorm b && !b.trainable());
  }

  private static boolean initial(final Model model, final BatchNorm bn) {
    final double[] mean = model.tensor(bn.name() + ".running_mean").toDoubleVector();
    final double[] var = model.tensor(bn.name() + ".running_var").toDoubleVector();
    for (int c = 0; c < mean.length; c++) {
      if (mean[c] != 0 || var[c] != 1) {
        return false;
      }
    }
    return true;
  }
}
