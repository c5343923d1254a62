package io.synctower.common.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.optim.OptimizerSpec.Momentum;
import io.synctower.common.optim.OptimizerSpec.Type;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class OptimizerSpecTest {
  private static void assertRejected(
      final Supplier<OptimizerSpec> build, final String... fragments) {
    final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
    for (final String f : fragments) {
      assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' lacks '" + f + "'");
    }
  }

  @Test
  void shouldNameFieldValueAndRangeWhenBetaIsOne() {
    assertRejected(
        () -> OptimizerSpec.builder(Type.ADAM).betas(1.0, 0.999).build(),
        "ADAM",
        "beta1 = 1.0",
        "[0, 1)");
    assertRejected(
        () -> OptimizerSpec.builder(Type.ADAMW).betas(0.9, -0.1).build(), "beta2 = -0.1", "[0, 1)");
  }

  @Test
  void shouldRejectNonPositiveOrNonFiniteLearningRate() {
    assertRejected(() -> OptimizerSpec.sgd(0.0), "lr = 0.0", "finite and > 0");
    assertRejected(() -> OptimizerSpec.adam(Double.NaN), "lr = NaN", "finite and > 0");
    assertRejected(
        () -> OptimizerSpec.adam(Double.POSITIVE_INFINITY), "lr = Infinity", "finite and > 0");
  }

  @Test
  void shouldRejectNonPositiveEpsilonAndNegativeWeightDecay() {
    assertRejected(
        () -> OptimizerSpec.builder(Type.RMSPROP).epsilon(0.0).build(),
        "RMSPROP",
        "epsilon = 0.0",
        "> 0");
    assertRejected(
        () -> OptimizerSpec.builder(Type.SGD).lr(0.1).weightDecay(-1e-4).build(),
        "weightDecay = -1.0E-4",
        ">= 0");
    assertRejected(
        () -> OptimizerSpec.builder(Type.ADADELTA).rho(1.0).build(), "rho = 1.0", "[0, 1)");
    assertRejected(
        () -> OptimizerSpec.builder(Type.RMSPROP).alpha(1.5).build(), "alpha = 1.5", "[0, 1)");
  }

  @Test
  void shouldRejectMomentumOutsideItsVariantsRange() {
    assertRejected(
        () -> OptimizerSpec.builder(Type.SGD).lr(0.1).momentum(Momentum.STANDARD, 1.0).build(),
        "momentum = 1.0",
        "(0, 1)");
    assertRejected(
        () -> OptimizerSpec.builder(Type.SGD).lr(0.1).momentum(Momentum.NESTEROV, 0.0).build(),
        "momentum = 0.0",
        "NESTEROV");
    assertRejected(
        () -> OptimizerSpec.builder(Type.SGD).lr(0.1).momentum(Momentum.NONE, 0.9).build(),
        "momentum = 0.9",
        "NONE");
    assertRejected(
        () -> OptimizerSpec.builder(Type.RMSPROP).momentum(Momentum.NESTEROV, 0.9).build(),
        "NESTEROV is not supported by RMSPROP");
  }

  @Test
  void shouldRejectSettingsTheRuleDoesNotUse() {
    assertRejected(
        () -> OptimizerSpec.builder(Type.SGD).lr(0.1).betas(0.9, 0.999).build(),
        "beta1 = 0.9",
        "not used by SGD");
    assertRejected(
        () -> OptimizerSpec.builder(Type.ADAM).rho(0.9).build(), "rho = 0.9", "not used by ADAM");
  }

  @Test
  void shouldRequireLearningRateForSgd() {
    assertRejected(() -> OptimizerSpec.builder(Type.SGD).build(), "lr is not set");
  }

  @Test
  void shouldReportKerasAdadeltaDefaultsAsDefaulted() {
    final OptimizerSpec spec = OptimizerSpec.builder(Type.ADADELTA).build();
    assertEquals(1.0, spec.lr());
    assertEquals(0.95, spec.rho());
    assertEquals(1e-7, spec.epsilon());
    assertEquals(0.0, spec.weightDecay());
    assertEquals(
        List.of(
            OptimizerSpec.LR, OptimizerSpec.RHO, OptimizerSpec.EPSILON, OptimizerSpec.WEIGHT_DECAY),
        List.copyOf(spec.defaulted()));
    assertTrue(spec.toString().contains("lr=1.0 (default)"), spec.toString());

    final OptimizerSpec explicit = OptimizerSpec.builder(Type.ADADELTA).lr(1e-3).build();
    assertFalse(explicit.defaulted().contains(OptimizerSpec.LR));
  }

  @Test
  void shouldUsePyTorchDefaultsForAdamAndAdamW() {
    final OptimizerSpec adam = OptimizerSpec.builder(Type.ADAM).build();
    assertEquals(1e-3, adam.lr());
    assertEquals(0.9, adam.beta1());
    assertEquals(0.999, adam.beta2());
    assertEquals(1e-8, adam.epsilon());
    assertEquals(0.0, adam.weightDecay());
    assertEquals(1e-2, OptimizerSpec.builder(Type.ADAMW).build().weightDecay());
    assertEquals(
        Set.of(
            OptimizerSpec.BETA1,
            OptimizerSpec.BETA2,
            OptimizerSpec.EPSILON,
            OptimizerSpec.WEIGHT_DECAY),
        OptimizerSpec.adam(3e-4).defaulted());
    assertTrue(Double.isNaN(OptimizerSpec.defaultValue(Type.SGD, OptimizerSpec.LR)));
  }
}
