package io.synctower.coordinator.train;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What one precise-BN recalibration did, over all towers: how many global batches and samples it
 * forwarded, how long it took, and how far each BN layer's moving statistics moved (tower 0's
 * figures; every tower's are identical).
 *
 * @param layers the BN layers' names, in the model's order
 * @param frozen whether each of them is frozen (left alone by precise BN)
 * @param moved how far each one's statistics moved
 */
public record PreciseBnResult(
    int batches,
    long samples,
    int towers,
    double seconds,
    List<String> layers,
    List<Boolean> frozen,
    List<Report.Movement> moved) {

  /**
   * The towers' answers combined: samples summed (count-weighted, whatever the shards), movement of
   * tower 0, layer names from {@code model} (a replica of the same architecture). The towers'
   * replica hashes were checked when the round was collected ({@code RoundCollector}).
   */
  static PreciseBnResult of(final List<Report> round, final Model model, final double seconds) {
    long samples = 0;
    for (final Report r : round) {
      samples += ((Report.PreciseBnDone) r).samples();
    }
    final Report.PreciseBnDone first = (Report.PreciseBnDone) round.get(0);
    final List<String> names = new ArrayList<>();
    final List<Boolean> frozen = new ArrayList<>();
    for (final BatchNorm bn : BatchNorm.layersOf(model)) {
      names.add(bn.name());
      frozen.add(!bn.trainable());
    }
    return new PreciseBnResult(
        first.batches(),
        samples,
        round.size(),
        seconds,
        List.copyOf(names),
        List.copyOf(frozen),
        first.layers());
  }

  /**
   * One line for the run log, e.g. {@code precise BN: 50 batches (3,200 samples, 2 towers) in 1.4
   * s; moved bn1 mean 0.21 sd var x1.35, bn2 (frozen, kept)}.
   */
  public String describe() {
    final StringBuilder b =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "precise BN: %d batches (%,d samples, %d tower%s) in %.1f s; moved",
                batches,
                samples,
                towers,
                towers == 1 ? "" : "s",
                seconds));
    for (int i = 0; i < layers.size(); i++) {
      b.append(i == 0 ? " " : ", ").append(layers.get(i));
      if (frozen.get(i)) {
        b.append(" (frozen, kept)");
      } else {
        b.append(
            String.format(
                Locale.ROOT,
                " mean %.3g sd var x%.3g",
                moved.get(i).meanShift(),
                moved.get(i).varianceRatio()));
      }
    }
    return b.toString();
  }
}
