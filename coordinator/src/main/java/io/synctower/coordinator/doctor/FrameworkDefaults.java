package io.synctower.coordinator.doctor;

import java.util.List;

/**
 * Defaults that the frameworks people port models from do not agree on, for the settings SyncTower
 * fills in when a config leaves them out. Values as of Keras 2.x / {@code tf.keras} in TF 1.x,
 * {@code tf.keras} in TF 2.x, and PyTorch 2.x.
 *
 * @param section {@code training.optimizer} or {@code bn}
 * @param optimizer the optimizer type it applies to ({@code adadelta}); null for {@code bn}
 * @param setting the SyncTower key ({@code lr})
 * @param synctower SyncTower's default, as written in the config
 * @param keras Keras 2 / TF 1.x
 * @param tf2 TF 2.x
 * @param pytorch PyTorch
 * @param changesTraining whether the difference changes what a run learns by itself (a learning
 *     rate 1000 times smaller), not only its numerics
 */
record FrameworkDefaults(
    String section,
    String optimizer,
    String setting,
    String synctower,
    String keras,
    String tf2,
    String pytorch,
    boolean changesTraining) {

  static final List<FrameworkDefaults> KNOWN =
      List.of(
          optimizer("adadelta", "lr", "1.0", "1.0", "0.001", "1.0", true),
          optimizer("adadelta", "rho", "0.95", "0.95", "0.95", "0.9", false),
          optimizer("adadelta", "epsilon", "1e-7", "1e-7", "1e-7", "1e-6", false),
          optimizer("adam", "epsilon", "1e-8", "1e-7", "1e-7", "1e-8", false),
          optimizer("adamw", "epsilon", "1e-8", "-", "1e-7", "1e-8", false),
          optimizer("adamw", "weightDecay", "0.01", "-", "0.004", "0.01", false),
          optimizer("rmsprop", "lr", "0.01", "0.001", "0.001", "0.01", true),
          optimizer("rmsprop", "alpha", "0.99", "rho 0.9", "rho 0.9", "alpha 0.99", false),
          optimizer("rmsprop", "epsilon", "1e-8", "1e-7", "1e-7", "1e-8", false),
          bn("epsilon", "0.001", "0.001", "0.001", "1e-5"),
          bn(
              "decay",
              "0.99",
              "momentum 0.99 (= decay 0.99)",
              "momentum 0.99 (= decay 0.99)",
              "momentum 0.1 (= decay 0.9)"));

  private static FrameworkDefaults optimizer(
      final String type,
      final String setting,
      final String synctower,
      final String keras,
      final String tf2,
      final String pytorch,
      final boolean changesTraining) {
    return new FrameworkDefaults(
        "training.optimizer", type, setting, synctower, keras, tf2, pytorch, changesTraining);
  }

  private static FrameworkDefaults bn(
      final String setting,
      final String synctower,
      final String keras,
      final String tf2,
      final String pytorch) {
    return new FrameworkDefaults("bn", null, setting, synctower, keras, tf2, pytorch, false);
  }

  /** The full key, e.g. {@code training.optimizer.lr}. */
  String key() {
    return section + "." + setting;
  }
}
