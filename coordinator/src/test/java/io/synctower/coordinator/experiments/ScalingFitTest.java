package io.synctower.coordinator.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The step-time fit against closed-form synthetic data. */
class ScalingFitTest {
  private static double[] strong(
      final int[] towers, final double a, final double w, final double b) {
    final double[] t = new double[towers.length];
    for (int i = 0; i < towers.length; i++) {
      t[i] = a + w / towers[i] + b * towers[i];
    }
    return t;
  }

  @Test
  void shouldRecoverConstantDivisibleWorkAndPerTowerCostFromExactStrongScalingData() {
    final int[] towers = {1, 2, 4, 8};
    final ScalingFit.Result f =
        ScalingFit.fit(ScalingMode.STRONG, towers, strong(towers, 5, 100, 2));
    assertEquals(
        List.of(ScalingFit.Term.CONSTANT, ScalingFit.Term.DIVISIBLE, ScalingFit.Term.PER_TOWER),
        f.terms());
    assertEquals(5, f.a(), 1e-9);
    assertEquals(100, f.w(), 1e-9);
    assertEquals(2, f.b(), 1e-9);
    assertEquals(1, f.rSquared(), 1e-12);
    assertEquals("", f.caveat());
    // Extrapolation and the throughput peak, by hand: T(16) = 5 + 100/16 + 32; N* = sqrt(100/2).
    assertEquals(43.25, f.stepMillis(16), 1e-9);
    assertEquals(64 / 0.04325, f.throughput(16, 64), 1e-6);
    assertEquals(Math.sqrt(50), f.peakTowers().getAsDouble(), 1e-9);
    assertTrue(f.halfEfficiencyTowers().isEmpty());
  }

  @Test
  void shouldRecoverAFitThatIsNotExactWithRSquaredBelowOne() {
    final int[] towers = {1, 2, 3, 4, 6, 8};
    final double[] t = strong(towers, 5, 100, 2);
    t[2] += 1.0; // one noisy point
    final ScalingFit.Result f = ScalingFit.fit(ScalingMode.STRONG, towers, t);
    assertTrue(f.rSquared() < 1 && f.rSquared() > 0.99, "R² " + f.rSquared());
    assertEquals(2, f.b(), 0.5);
  }

  @Test
  void shouldRecoverConstantAndPerTowerCostFromExactWeakScalingData() {
    final int[] towers = {1, 2, 4};
    final double[] t = {10 + 3 * 1, 10 + 3 * 2, 10 + 3 * 4};
    final ScalingFit.Result f = ScalingFit.fit(ScalingMode.WEAK, towers, t);
    assertEquals(List.of(ScalingFit.Term.CONSTANT, ScalingFit.Term.PER_TOWER), f.terms());
    assertEquals(10, f.a(), 1e-9);
    assertEquals(3, f.b(), 1e-9);
    assertEquals(0, f.w());
    // Weak scaling: the global batch grows with N; efficiency T(1)/T(N) = 1/2 at N = a/b + 2.
    assertEquals(64.0 * 32 / ((10 + 96) / 1000.0), f.throughput(32, 64), 1e-6);
    final double half = f.halfEfficiencyTowers().getAsDouble();
    assertEquals(10.0 / 3 + 2, half, 1e-9);
    assertEquals(0.5, f.stepMillis(1) / f.stepMillis(half), 1e-9);
    assertTrue(f.peakTowers().isEmpty());
  }

  @Test
  void shouldFitFewerTermsAndSaySoWithTwoStrongScalingPoints() {
    final int[] towers = {1, 2};
    final ScalingFit.Result f =
        ScalingFit.fit(ScalingMode.STRONG, towers, strong(towers, 7, 40, 0));
    assertEquals(List.of(ScalingFit.Term.CONSTANT, ScalingFit.Term.DIVISIBLE), f.terms());
    assertEquals(7, f.a(), 1e-9);
    assertEquals(40, f.w(), 1e-9);
    assertTrue(f.caveat().contains("at least 3 tower counts"), f.caveat());
    assertTrue(f.peakTowers().isEmpty());
    assertEquals(7 + 40 / 16.0, f.stepMillis(16), 1e-9);
  }

  @Test
  void shouldWarnThatAnExactlyDeterminedFitSaysNothingAboutTheModel() {
    final int[] towers = {1, 2, 4};
    final ScalingFit.Result f =
        ScalingFit.fit(ScalingMode.STRONG, towers, new double[] {100, 80, 90});
    assertEquals(3, f.terms().size());
    assertTrue(f.caveat().contains("passes through every point"), f.caveat());
  }

  @Test
  void shouldFitNothingFromOneTowerCountWithoutFailing() {
    for (final ScalingMode mode : ScalingMode.values()) {
      final ScalingFit.Result f = ScalingFit.fit(mode, new int[] {4}, new double[] {50});
      assertFalse(f.fitted());
      assertTrue(Double.isNaN(f.stepMillis(16)));
      assertTrue(f.caveat().contains("at least 2"), f.caveat());
      assertEquals("no fit", f.formula());
    }
  }
}
