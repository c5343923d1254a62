package io.synctower.common.optim;

/**
 * Range checks shared by {@link OptimizerSpec}, {@link ScheduleSpec} and the schedules. Every
 * message names the setting, the rejected value and the valid range, e.g. {@code "ADAM beta1 = 1.0
 * is out of range: must be in [0, 1)"}.
 */
final class Checks {
  private Checks() {}

  static double positiveFinite(final String owner, final String field, final double value) {
    if (!(value > 0.0 && value < Double.POSITIVE_INFINITY)) {
      throw outOfRange(owner, field, value, "must be finite and > 0");
    }
    return value;
  }

  static double nonNegativeFinite(final String owner, final String field, final double value) {
    if (!(value >= 0.0 && value < Double.POSITIVE_INFINITY)) {
      throw outOfRange(owner, field, value, "must be finite and >= 0");
    }
    return value;
  }

  /** {@code [0, 1)}: decay rates (betas, alpha, rho) and momentum coefficients. */
  static double unitHalfOpen(final String owner, final String field, final double value) {
    if (!(value >= 0.0 && value < 1.0)) {
      throw outOfRange(owner, field, value, "must be in [0, 1)");
    }
    return value;
  }

  /** {@code [0, 1]}: fractions such as a warm-up start factor. */
  static double unitClosed(final String owner, final String field, final double value) {
    if (!(value >= 0.0 && value <= 1.0)) {
      throw outOfRange(owner, field, value, "must be in [0, 1]");
    }
    return value;
  }

  static long positive(final String owner, final String field, final long value) {
    if (value <= 0) {
      throw outOfRange(owner, field, value, "must be >= 1");
    }
    return value;
  }

  static long nonNegative(final String owner, final String field, final long value) {
    if (value < 0) {
      throw outOfRange(owner, field, value, "must be >= 0");
    }
    return value;
  }

  static IllegalArgumentException outOfRange(
      final String owner, final String field, final Object value, final String range) {
    return new IllegalArgumentException(
        owner + " " + field + " = " + value + " is out of range: " + range);
  }
}
