package io.synctower.common.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.optim.LinearWarmupSchedule.Mode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LearningRateScheduleTest {
  private static final double TOL = 1e-15;

  @Test
  void shouldReturnTheSameRateAtEveryStepWhenConstant() {
    final LearningRateSchedule s = LearningRateSchedule.constant(0.3);
    assertEquals(0.3, s.learningRate(0));
    assertEquals(0.3, s.learningRate(1_000_000_000L));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 1, 9, 10, 11, 19, 20, 55})
  void shouldMultiplyByGammaEveryStepSizeSteps(final long step) {
    final double base = 0.4;
    final long k = 10;
    final double gamma = 0.5;
    double expected = base; // oracle: count completed intervals by repeated subtraction
    for (long left = step; left >= k; left -= k) {
      expected *= gamma;
    }
    assertEquals(expected, LearningRateSchedule.stepDecay(base, k, gamma).learningRate(step), TOL);
  }

  @Test
  void shouldFollowHalfCosineToMinimumAndStayThere() {
    final double base = 0.1;
    final double min = 0.01;
    final long total = 100;
    final LearningRateSchedule s = LearningRateSchedule.cosine(base, min, total);
    assertEquals(base, s.learningRate(0), TOL);
    assertEquals(min + (base - min) * (1 + Math.sqrt(0.5)) / 2, s.learningRate(25), 1e-15);
    assertEquals((base + min) / 2, s.learningRate(50), 1e-15);
    assertEquals(min + (base - min) * (1 - Math.sqrt(0.5)) / 2, s.learningRate(75), 1e-15);
    assertEquals(min, s.learningRate(100), TOL);
    assertEquals(min, s.learningRate(150), TOL, "no restart after totalSteps");
  }

  @Test
  void shouldRampLinearlyThenStartWrappedScheduleWhenShifted() {
    final LearningRateSchedule after = LearningRateSchedule.stepDecay(1.0, 3, 0.1);
    final LearningRateSchedule s = LearningRateSchedule.linearWarmup(after, 4, 0.2, Mode.SHIFTED);
    assertEquals(0.2, s.learningRate(0), TOL);
    assertEquals(0.2 + 0.8 * 1 / 4.0, s.learningRate(1), TOL);
    assertEquals(0.2 + 0.8 * 3 / 4.0, s.learningRate(3), TOL);
    assertEquals(1.0, s.learningRate(4), TOL, "warm-up ends exactly at the wrapped start");
    assertEquals(1.0, s.learningRate(6), TOL);
    assertEquals(0.1, s.learningRate(7), 1e-16, "first decay 3 steps after warm-up");
  }

  @Test
  void shouldScaleWrappedScheduleOnGlobalClockWhenOverlapped() {
    final LearningRateSchedule after = LearningRateSchedule.stepDecay(1.0, 3, 0.1);
    final LearningRateSchedule s =
        LearningRateSchedule.linearWarmup(after, 4, 0.2, Mode.OVERLAPPED);
    assertEquals(0.2, s.learningRate(0), TOL);
    assertEquals((0.2 + 0.8 * 3 / 4.0) * 0.1, s.learningRate(3), 1e-16);
    assertEquals(0.1, s.learningRate(4), 1e-16, "milestones count from step 0");
    assertEquals(0.01, s.learningRate(6), 1e-17);
  }

  @Test
  void shouldApplyLinearScalingRule() {
    assertEquals(3.2, LearningRateSchedule.linearScaling(0.1, 8192, 256), 1e-15);
    assertEquals(0.1, LearningRateSchedule.linearScaling(0.1, 256, 256), TOL);
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> LearningRateSchedule.linearScaling(0.1, 0, 256));
    assertTrue(e.getMessage().contains("globalBatch = 0"), e.getMessage());
  }

  @Test
  void shouldRejectNegativeStep() {
    assertThrows(
        IllegalArgumentException.class,
        () -> LearningRateSchedule.cosine(0.1, 0, 10).learningRate(-1));
  }

  @Test
  void shouldEndShiftedCosineAtMinimumOnTheLastStepOfTheRun() {
    final ScheduleSpec spec =
        ScheduleSpec.builder(ScheduleSpec.Type.COSINE).minLr(0.001).warmupSteps(10).build();
    final LearningRateSchedule s = spec.create(0.1, 110);
    assertEquals(0.0, s.learningRate(0), TOL, "default warm-up start factor is 0");
    assertEquals(0.05, s.learningRate(5), TOL);
    assertEquals(0.1, s.learningRate(10), TOL);
    assertEquals((0.1 + 0.001) / 2, s.learningRate(60), 1e-15);
    assertEquals(0.001, s.learningRate(110), TOL);
    assertEquals(List.of("warmupStartFactor", "warmupMode"), List.copyOf(spec.defaulted()));
  }

  @Test
  void shouldValidateScheduleSpecWithMessagesNamingTheSetting() {
    final IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () -> ScheduleSpec.builder(ScheduleSpec.Type.STEP).build());
    assertTrue(missing.getMessage().contains("stepSize is not set"), missing.getMessage());
    final IllegalArgumentException unused =
        assertThrows(
            IllegalArgumentException.class,
            () -> ScheduleSpec.builder(ScheduleSpec.Type.STEP).stepSize(5).minLr(0.0).build());
    assertTrue(unused.getMessage().contains("minLr = 0.0 is not used by STEP"));
    final IllegalArgumentException gamma =
        assertThrows(
            IllegalArgumentException.class,
            () -> ScheduleSpec.builder(ScheduleSpec.Type.STEP).stepSize(5).gamma(1.5).build());
    assertTrue(gamma.getMessage().contains("gamma = 1.5"), gamma.getMessage());
    assertTrue(gamma.getMessage().contains("(0, 1]"), gamma.getMessage());
    final IllegalArgumentException warm =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ScheduleSpec.builder(ScheduleSpec.Type.CONSTANT)
                    .warmupSteps(100)
                    .build()
                    .create(0.1, 100));
    assertTrue(warm.getMessage().contains("warmupSteps = 100"), warm.getMessage());
    assertTrue(warm.getMessage().contains("< totalSteps = 100"), warm.getMessage());
  }

  @Test
  void shouldBuildPlainScheduleWithoutWarmup() {
    final LearningRateSchedule s =
        ScheduleSpec.builder(ScheduleSpec.Type.STEP).stepSize(30).build().create(0.1, 90);
    assertEquals(new StepDecaySchedule(0.1, 30, 0.1), s);
  }
}
