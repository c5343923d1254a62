package io.synctower.coordinator.doctor;

import io.synctower.common.nn.LayerSpec;
import io.synctower.coordinator.train.EpochRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Settings the config left to a default that other frameworks set differently (seed 000: a Keras
 * model on Adadelta's default learning rate, 1.0 in Keras 2 and TF 1.x, 0.001 in TF 2.x, which
 * trained to 95% on one and 1% on the other). The resolved config records which settings were
 * defaulted ({@code training.optimizer.defaulted}, {@code bn.defaulted}); each one in {@link
 * FrameworkDefaults#KNOWN} is listed with every framework's value.
 *
 * <p>WARN when a defaulted learning rate differs (it changes what a run learns by itself); the
 * numerical ones (epsilons, decays) are listed under an OK, since they explain small differences
 * when porting but not a failed run. When the run's last epoch is near chance (at most twice the
 * chance accuracy), that is said too: it is what seed 000 saw.
 */
final class FrameworkDefaultsCheck implements Check {
  private static final String NAME = "framework defaults";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Finding examine(final Evidence evidence) {
    final Map<String, Object> resolved = evidence.config().resolved();
    final Map<?, ?> optimizer = section(section(resolved, "training"), "optimizer");
    final Map<?, ?> bn = section(resolved, "bn");
    final String type = String.valueOf(optimizer.get("type"));
    final List<?> optimizerDefaults = list(optimizer.get("defaulted"));
    final List<?> bnDefaults = list(bn.get("defaulted"));
    final List<List<String>> rows = new ArrayList<>();
    final List<String> major = new ArrayList<>();
    FrameworkDefaults firstMajor = null;
    for (final FrameworkDefaults d : FrameworkDefaults.KNOWN) {
      final boolean defaulted =
          d.optimizer() == null
              ? bnDefaults.contains(d.setting()) && bnSectionInUse(evidence, d.setting())
              : d.optimizer().equals(type) && optimizerDefaults.contains(d.setting());
      if (!defaulted) {
        continue;
      }
      rows.add(List.of(d.key(), d.synctower(), d.keras(), d.tf2(), d.pytorch()));
      if (d.changesTraining()) {
        firstMajor = firstMajor == null ? d : firstMajor;
        major.add(
            String.format(
                Locale.ROOT,
                "%s defaulted to %s (%s): Keras 2 / TF 1.x %s, TF 2.x %s, PyTorch %s",
                d.key(),
                d.synctower(),
                type,
                d.keras(),
                d.tf2(),
                d.pytorch()));
      }
    }
    final Table table =
        rows.isEmpty()
            ? Table.none()
            : new Table(
                List.of(
                    "defaulted setting", "SyncTower used", "Keras 2 / TF 1.x", "TF 2.x", "PyTorch"),
                rows);
    if (major.isEmpty()) {
      return Finding.ok(
          NAME,
          rows.isEmpty()
              ? "no defaulted setting that frameworks disagree on"
              : "no defaulted learning rate; "
                  + rows.size()
                  + " numerical default(s) differ between frameworks (listed)",
          table);
    }
    return new Finding(
        NAME,
        Severity.WARN,
        String.join("; ", major) + nearChance(evidence),
        "A config ported from another framework that relies on a default trains with a"
            + " different value here than there: Adadelta's learning rate is 1000 times smaller in"
            + " TF 2.x than in Keras 2 (seed 000: 95% accuracy on TF 1.13, 1% on TF 2.3).",
        "write the value you mean into the config: "
            + firstMajor.key()
            + ": "
            + firstMajor.synctower()
            + " keeps this run's; "
            + firstMajor.tf2()
            + " is TF 2.x's",
        table);
  }

  /** Whether some BN layer takes {@code setting} (decay or epsilon) from the bn section. */
  private static boolean bnSectionInUse(final Evidence evidence, final String setting) {
    return LayerSpec.leaves(evidence.config().model().layers()).stream()
        .anyMatch(
            l ->
                l instanceof LayerSpec.BatchNorm b
                    && Double.isNaN(setting.equals("decay") ? b.decay() : b.epsilon()));
  }

  private static String nearChance(final Evidence evidence) {
    if (evidence.epochs().isEmpty()) {
      return "";
    }
    final EpochRecord last = evidence.epochs().get(evidence.epochs().size() - 1);
    final double chance = 1.0 / evidence.data().train().numClasses();
    if (last.trainAccuracy() > 2 * chance) {
      return "";
    }
    return String.format(
        Locale.ROOT,
        "; and this run learned next to nothing: last epoch train acc %s (chance %s)",
        TrainInferenceGapCheck.percent(last.trainAccuracy()),
        TrainInferenceGapCheck.percent(chance));
  }

  private static Map<?, ?> section(final Map<?, ?> map, final String key) {
    return map.get(key) instanceof Map<?, ?> m ? m : Map.of();
  }

  private static List<?> list(final Object value) {
    return value instanceof List<?> l ? l : List.of();
  }
}
