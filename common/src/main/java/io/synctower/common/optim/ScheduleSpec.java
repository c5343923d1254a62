package io.synctower.common.optim;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable, validated configuration of a {@link LearningRateSchedule}: the shape ({@link Type}),
 * its settings, and an optional linear warm-up. The base rate and run length are supplied when the
 * schedule is created, since they usually come from elsewhere ({@link OptimizerSpec#lr()}, scaled
 * by {@link LearningRateSchedule#linearScaling}, and the data set size):
 *
 * <pre>{@code
 * double lr = LearningRateSchedule.linearScaling(optSpec.lr(), globalBatch, 256);
 * LearningRateSchedule lrs = ScheduleSpec.builder(ScheduleSpec.Type.COSINE)
 *     .warmupSteps(5 * stepsPerEpoch).build()
 *     .create(lr, 90 * stepsPerEpoch);
 * }</pre>
 *
 * <p>Settings a type does not use are rejected. Defaults: {@code gamma = 0.1} (STEP, as PyTorch's
 * {@code StepLR}), {@code minLr = 0} (COSINE), {@code warmupSteps = 0}, {@code warmupStartFactor =
 * 0}, {@code warmupMode = SHIFTED}; {@code stepSize} (STEP) has no default. {@link #defaulted()}
 * lists what was not set explicitly.
 */
public final class ScheduleSpec {
  /** The schedule's shape after warm-up. */
  public enum Type {
    /** {@link ConstantSchedule}. */
    CONSTANT,
    /** {@link StepDecaySchedule}: {@code stepSize} (required), {@code gamma}. */
    STEP,
    /** {@link CosineSchedule} down to {@code minLr} at the end of the run. */
    COSINE
  }

  private final Type type;
  private final long stepSize;
  private final double gamma;
  private final double minLr;
  private final long warmupSteps;
  private final double warmupStartFactor;
  private final LinearWarmupSchedule.Mode warmupMode;
  private final Set<String> defaulted;

  private ScheduleSpec(final Builder b, final Set<String> defaulted) {
    this.type = b.type;
    this.stepSize = b.stepSize == null ? 0 : b.stepSize;
    this.gamma = b.gamma == null ? (type == Type.STEP ? 0.1 : Double.NaN) : b.gamma;
    this.minLr = b.minLr == null ? (type == Type.COSINE ? 0.0 : Double.NaN) : b.minLr;
    this.warmupSteps = b.warmupSteps == null ? 0 : b.warmupSteps;
    this.warmupStartFactor = b.warmupStartFactor == null ? 0.0 : b.warmupStartFactor;
    this.warmupMode = b.warmupMode == null ? LinearWarmupSchedule.Mode.SHIFTED : b.warmupMode;
    this.defaulted = Collections.unmodifiableSet(defaulted);
  }

  /** A builder for {@code type}; every setting starts unset (its default). */
  public static Builder builder(final Type type) {
    return new Builder(Objects.requireNonNull(type, "type"));
  }

  /**
   * Builds the schedule for a run of {@code totalSteps} updates starting at {@code baseLr}. Pure
   * and cheap; call again after a restart with the same arguments to get the same schedule.
   *
   * <p>COSINE reaches {@code minLr} at {@code totalSteps}: with SHIFTED warm-up the cosine spans
   * {@code totalSteps - warmupSteps}, with OVERLAPPED all of {@code totalSteps}. STEP's milestones
   * count from the end of warm-up (SHIFTED) or from step 0 (OVERLAPPED).
   *
   * @throws IllegalArgumentException if {@code baseLr} is not finite and {@code > 0}, {@code
   *     totalSteps < 1}, {@code warmupSteps >= totalSteps}, or {@code minLr > baseLr}
   */
  public LearningRateSchedule create(final double baseLr, final long totalSteps) {
    final String owner = "ScheduleSpec(" + type + ")";
    Checks.positiveFinite(owner, "baseLr", baseLr);
    Checks.positive(owner, "totalSteps", totalSteps);
    if (warmupSteps >= totalSteps) {
      throw Checks.outOfRange(
          owner, "warmupSteps", warmupSteps, "must be < totalSteps = " + totalSteps);
    }
    if (type == Type.COSINE && minLr > baseLr) {
      throw Checks.outOfRange(owner, "minLr", minLr, "must be <= baseLr = " + baseLr);
    }
    final boolean shifted = warmupMode == LinearWarmupSchedule.Mode.SHIFTED;
    final LearningRateSchedule after =
        switch (type) {
          case CONSTANT -> new ConstantSchedule(baseLr);
          case STEP -> new StepDecaySchedule(baseLr, stepSize, gamma);
          case COSINE ->
              new CosineSchedule(baseLr, minLr, shifted ? totalSteps - warmupSteps : totalSteps);
        };
    if (warmupSteps == 0) {
      return after;
    }
    return new LinearWarmupSchedule(after, warmupSteps, warmupStartFactor, warmupMode);
  }

  public Type type() {
    return type;
  }

  /** STEP's decay interval in updates; 0 for other types. */
  public long stepSize() {
    return stepSize;
  }

  /** STEP's decay factor; NaN for other types. */
  public double gamma() {
    return gamma;
  }

  /** COSINE's final rate; NaN for other types. */
  public double minLr() {
    return minLr;
  }

  public long warmupSteps() {
    return warmupSteps;
  }

  public double warmupStartFactor() {
    return warmupStartFactor;
  }

  public LinearWarmupSchedule.Mode warmupMode() {
    return warmupMode;
  }

  /** Settings used by this type that took their defaults, in a fixed order. Unmodifiable. */
  public Set<String> defaulted() {
    return defaulted;
  }

  @Override
  public String toString() {
    return type
        + "{stepSize="
        + stepSize
        + ", gamma="
        + gamma
        + ", minLr="
        + minLr
        + ", warmupSteps="
        + warmupSteps
        + ", warmupStartFactor="
        + warmupStartFactor
        + ", warmupMode="
        + warmupMode
        + ", defaulted="
        + defaulted
        + "}";
  }

  /** Fluent collector of settings; {@link #build()} validates them all at once. */
  public static final class Builder {
    private final Type type;
    private Long stepSize;
    private Double gamma;
    private Double minLr;
    private Long warmupSteps;
    private Double warmupStartFactor;
    private LinearWarmupSchedule.Mode warmupMode;

    private Builder(final Type type) {
      this.type = type;
    }

    /** STEP only: decay every {@code stepSize >= 1} updates. */
    public Builder stepSize(final long stepSize) {
      this.stepSize = stepSize;
      return this;
    }

    /** STEP only: multiply by {@code gamma} in {@code (0, 1]} at every decay. */
    public Builder gamma(final double gamma) {
      this.gamma = gamma;
      return this;
    }

    /** COSINE only: the rate at the end of the run, finite and {@code >= 0}. */
    public Builder minLr(final double minLr) {
      this.minLr = minLr;
      return this;
    }

    /** Linear warm-up length in updates, {@code >= 0} (0: no warm-up). */
    public Builder warmupSteps(final long warmupSteps) {
      this.warmupSteps = warmupSteps;
      return this;
    }

    /** Warm-up starts at this fraction of the target rate, in {@code [0, 1]}. */
    public Builder warmupStartFactor(final double warmupStartFactor) {
      this.warmupStartFactor = warmupStartFactor;
      return this;
    }

    /** Whether the wrapped schedule starts after warm-up or runs under it. */
    public Builder warmupMode(final LinearWarmupSchedule.Mode warmupMode) {
      this.warmupMode = Objects.requireNonNull(warmupMode, "warmupMode");
      return this;
    }

    /**
     * Validates every setting and returns the immutable spec.
     *
     * @throws IllegalArgumentException naming the first bad setting, its value and the valid range
     */
    public ScheduleSpec build() {
      final String owner = "ScheduleSpec(" + type + ")";
      if (type != Type.STEP) {
        rejectUnused(owner, "stepSize", stepSize);
        rejectUnused(owner, "gamma", gamma);
      }
      if (type != Type.COSINE) {
        rejectUnused(owner, "minLr", minLr);
      }
      final Set<String> defaulted = new LinkedHashSet<>();
      if (type == Type.STEP) {
        if (stepSize == null) {
          throw new IllegalArgumentException(
              owner + " stepSize is not set and has no default: set the decay interval >= 1");
        }
        Checks.positive(owner, "stepSize", stepSize);
        if (gamma == null) {
          defaulted.add("gamma");
        } else if (!(gamma > 0.0 && gamma <= 1.0)) {
          throw Checks.outOfRange(owner, "gamma", gamma, "must be in (0, 1]");
        }
      }
      if (type == Type.COSINE) {
        if (minLr == null) {
          defaulted.add("minLr");
        } else {
          Checks.nonNegativeFinite(owner, "minLr", minLr);
        }
      }
      if (warmupSteps == null) {
        defaulted.add("warmupSteps");
      } else {
        Checks.nonNegative(owner, "warmupSteps", warmupSteps);
      }
      if (warmupStartFactor == null) {
        defaulted.add("warmupStartFactor");
      } else {
        Checks.unitClosed(owner, "warmupStartFactor", warmupStartFactor);
      }
      if (warmupMode == null) {
        defaulted.add("warmupMode");
      }
      return new ScheduleSpec(this, defaulted);
    }

    private void rejectUnused(final String owner, final String name, final Object value) {
      if (value != null) {
        throw new IllegalArgumentException(
            owner + " " + name + " = " + value + " is not used by " + type + ": remove it");
      }
    }
  }
}
