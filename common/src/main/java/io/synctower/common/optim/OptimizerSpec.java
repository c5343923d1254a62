package io.synctower.common.optim;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Immutable, validated configuration of an {@link Optimizer}: the rule ({@link Type}) and its
 * hyper-parameters, checked once in {@link Builder#build()} so that a bad value fails at start-up
 * with a message naming the setting, the value and the valid range.
 *
 * <pre>{@code
 * OptimizerSpec spec = OptimizerSpec.builder(OptimizerSpec.Type.SGD)
 *     .lr(0.1).momentum(OptimizerSpec.Momentum.NESTEROV, 0.9).weightDecay(1e-4).build();
 * Optimizer opt = spec.create(params, ranges);   // allocates state once; see Optimizer
 * spec.defaulted();                              // [] here; ["lr", "rho", "epsilon", ...] for
 *                                                //   OptimizerSpec.builder(ADADELTA).build()
 * }</pre>
 *
 * <p>Settings that a rule does not use are rejected rather than ignored (setting {@code beta1} on
 * SGD is a configuration mistake). Defaults, per rule, follow the framework each rule is usually
 * ported from and are listed in {@link #defaultValue(Type, String)}; {@link #defaulted()} says
 * which values were not given explicitly, so diagnostics can point at defaults that differ between
 * frameworks (Adadelta's learning rate: 1.0 in Keras 2 and TF 1.x {@code tf.keras}, 0.001 in TF
 * 2.x; see {@link Adadelta}).
 *
 * <p>{@link #lr()} is the base learning rate: the caller's {@link LearningRateSchedule} starts from
 * it and passes the scheduled value to every {@link Optimizer#step}.
 */
public final class OptimizerSpec {
  /** The update rule. */
  public enum Type {
    /** {@link Sgd}: {@code lr} (required), {@code momentum}, {@code weightDecay}. */
    SGD,
    /** {@link Adam} with L2 weight decay: {@code lr, beta1, beta2, epsilon, weightDecay}. */
    ADAM,
    /** {@link Adam} with decoupled weight decay (AdamW): same settings as {@code ADAM}. */
    ADAMW,
    /** {@link RmsProp}: {@code lr, alpha, epsilon, momentum} (NONE or STANDARD), {@code wd}. */
    RMSPROP,
    /** {@link Adadelta}: {@code lr, rho, epsilon, weightDecay}. */
    ADADELTA
  }

  /** Momentum variant, named as in Tribuo's {@code SGD}. */
  public enum Momentum {
    /** Plain gradient step. */
    NONE,
    /** Heavy-ball momentum (Polyak 1964). */
    STANDARD,
    /** Nesterov accelerated gradient in Sutskever et al.'s (2013) form; SGD only. */
    NESTEROV
  }

  /** Setting names, as they appear in {@link #defaulted()} and in error messages. */
  public static final String LR = "lr";

  public static final String MOMENTUM = "momentum";
  public static final String BETA1 = "beta1";
  public static final String BETA2 = "beta2";
  public static final String EPSILON = "epsilon";
  public static final String WEIGHT_DECAY = "weightDecay";
  public static final String ALPHA = "alpha";
  public static final String RHO = "rho";

  private static final Map<Type, Map<String, Double>> DEFAULTS = defaults();

  private final Type type;
  private final double lr;
  private final Momentum momentumKind;
  private final double momentum;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final double alpha;
  private final double rho;
  private final Set<String> defaulted;

  private OptimizerSpec(final Builder b, final Set<String> defaulted) {
    this.type = b.type;
    this.lr = value(b, LR, b.lr);
    this.momentumKind = b.momentumKind == null ? Momentum.NONE : b.momentumKind;
    this.momentum = value(b, MOMENTUM, b.momentum);
    this.beta1 = value(b, BETA1, b.beta1);
    this.beta2 = value(b, BETA2, b.beta2);
    this.epsilon = value(b, EPSILON, b.epsilon);
    this.weightDecay = value(b, WEIGHT_DECAY, b.weightDecay);
    this.alpha = value(b, ALPHA, b.alpha);
    this.rho = value(b, RHO, b.rho);
    this.defaulted = Collections.unmodifiableSet(defaulted);
  }

  /** A builder for {@code type}; every setting starts unset (the rule's default). */
  public static Builder builder(final Type type) {
    return new Builder(Objects.requireNonNull(type, "type"));
  }

  /** Plain SGD with learning rate {@code lr}. */
  public static OptimizerSpec sgd(final double lr) {
    return builder(Type.SGD).lr(lr).build();
  }

  /** Adam with learning rate {@code lr} and default betas (0.9, 0.999), eps 1e-8, no decay. */
  public static OptimizerSpec adam(final double lr) {
    return builder(Type.ADAM).lr(lr).build();
  }

  /** AdamW with learning rate {@code lr} and decoupled weight decay {@code weightDecay}. */
  public static OptimizerSpec adamW(final double lr, final double weightDecay) {
    return builder(Type.ADAMW).lr(lr).weightDecay(weightDecay).build();
  }

  /**
   * The default of {@code setting} for {@code type}, or {@code NaN} if the rule has no default for
   * it (SGD's {@code lr}) or does not use it.
   */
  public static double defaultValue(final Type type, final String setting) {
    return DEFAULTS.get(type).getOrDefault(setting, Double.NaN);
  }

  /**
   * Builds the optimizer for every element of {@code params}. Allocates the state buffers (see
   * {@link Optimizer}); {@code params} is bound, not copied.
   */
  public Optimizer create(final INDArray params) {
    Objects.requireNonNull(params, "params");
    return create(params, TrainableRanges.all(params.length()));
  }

  /**
   * Builds the optimizer for the {@code ranges} of {@code params}; elements outside them are never
   * read or written by {@link Optimizer#step}. Allocates the state buffers (full length, zeros) and
   * one scratch buffer of {@link TrainableRanges#trainableCount()} elements; {@code params} is
   * bound, not copied.
   *
   * @throws IllegalArgumentException if {@code params} is not a 1-D FLOAT or DOUBLE buffer or the
   *     ranges run past its end
   */
  public Optimizer create(final INDArray params, final TrainableRanges ranges) {
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(ranges, "ranges");
    return switch (type) {
      case SGD -> new Sgd(params, ranges, momentumKind, momentum, weightDecay);
      case ADAM ->
          new Adam(params, ranges, Adam.WeightDecay.L2, beta1, beta2, epsilon, weightDecay);
      case ADAMW ->
          new Adam(params, ranges, Adam.WeightDecay.DECOUPLED, beta1, beta2, epsilon, weightDecay);
      case RMSPROP -> new RmsProp(params, ranges, alpha, epsilon, momentum, weightDecay);
      case ADADELTA -> new Adadelta(params, ranges, rho, epsilon, weightDecay);
    };
  }

  public Type type() {
    return type;
  }

  /** Base learning rate (what the schedule starts from). */
  public double lr() {
    return lr;
  }

  /** {@link Momentum#NONE} unless set (SGD, RMSProp). */
  public Momentum momentumKind() {
    return momentumKind;
  }

  /** Momentum coefficient {@code mu}; 0 when {@link #momentumKind()} is NONE or unused. */
  public double momentum() {
    return momentum;
  }

  /** Adam's first-moment decay; NaN for other rules. */
  public double beta1() {
    return beta1;
  }

  /** Adam's second-moment decay; NaN for other rules. */
  public double beta2() {
    return beta2;
  }

  /** Numerical-stability term; NaN for SGD. */
  public double epsilon() {
    return epsilon;
  }

  /** L2 (SGD, ADAM, RMSPROP, ADADELTA) or decoupled (ADAMW) weight decay. */
  public double weightDecay() {
    return weightDecay;
  }

  /** RMSProp's squared-gradient decay; NaN for other rules. */
  public double alpha() {
    return alpha;
  }

  /** Adadelta's decay; NaN for other rules. */
  public double rho() {
    return rho;
  }

  /**
   * The settings this rule uses that were not given explicitly and took their defaults, in a fixed
   * order (e.g. {@code [lr, rho, epsilon, weightDecay]} for a bare Adadelta). Unmodifiable.
   */
  public Set<String> defaulted() {
    return defaulted;
  }

  /** E.g. {@code ADADELTA{lr=1.0 (default), rho=0.95 (default), ...}}. */
  @Override
  public String toString() {
    final StringBuilder sb = new StringBuilder(type.name()).append('{');
    String sep = "";
    for (final String name : DEFAULTS.get(type).keySet()) {
      sb.append(sep).append(name).append('=');
      if (name.equals(MOMENTUM)) {
        sb.append(momentumKind).append(' ');
      }
      sb.append(get(name));
      if (defaulted.contains(name)) {
        sb.append(" (default)");
      }
      sep = ", ";
    }
    return sb.append('}').toString();
  }

  private double get(final String name) {
    return switch (name) {
      case LR -> lr;
      case MOMENTUM -> momentum;
      case BETA1 -> beta1;
      case BETA2 -> beta2;
      case EPSILON -> epsilon;
      case WEIGHT_DECAY -> weightDecay;
      case ALPHA -> alpha;
      case RHO -> rho;
      default -> throw new IllegalArgumentException(name);
    };
  }

  private static double value(final Builder b, final String name, final Double given) {
    if (given != null) {
      return given;
    }
    return defaultValue(b.type, name);
  }

  private static Map<Type, Map<String, Double>> defaults() {
    final Map<Type, Map<String, Double>> d = new LinkedHashMap<>();
    // Keys are the settings each rule uses; a NaN value means "no default: must be set".
    // SGD: torch.optim.SGD (lr had no default before PyTorch 2.0; we keep it required).
    d.put(Type.SGD, ordered(LR, Double.NaN, MOMENTUM, 0.0, WEIGHT_DECAY, 0.0));
    // Adam / AdamW: torch.optim.Adam / AdamW (AdamW's weight_decay default is 1e-2).
    d.put(Type.ADAM, ordered(LR, 1e-3, BETA1, 0.9, BETA2, 0.999, EPSILON, 1e-8, WEIGHT_DECAY, 0.0));
    d.put(
        Type.ADAMW, ordered(LR, 1e-3, BETA1, 0.9, BETA2, 0.999, EPSILON, 1e-8, WEIGHT_DECAY, 1e-2));
    // RMSProp: torch.optim.RMSprop.
    d.put(
        Type.RMSPROP,
        ordered(LR, 1e-2, ALPHA, 0.99, EPSILON, 1e-8, MOMENTUM, 0.0, WEIGHT_DECAY, 0.0));
    // Adadelta: Keras 2 / tf.keras in TF 1.x (TF 2.x: lr 0.001). See Adadelta's Javadoc.
    d.put(Type.ADADELTA, ordered(LR, 1.0, RHO, 0.95, EPSILON, 1e-7, WEIGHT_DECAY, 0.0));
    return Collections.unmodifiableMap(d);
  }

  private static Map<String, Double> ordered(final Object... kv) {
    final Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], (Double) kv[i + 1]);
    }
    return Collections.unmodifiableMap(m);
  }

  /**
   * Fluent, mutable collector of settings; {@link #build()} validates all of them at once. Not
   * thread-safe; a builder may be built more than once.
   */
  public static final class Builder {
    private final Type type;
    private Double lr;
    private Momentum momentumKind;
    private Double momentum;
    private Double beta1;
    private Double beta2;
    private Double epsilon;
    private Double weightDecay;
    private Double alpha;
    private Double rho;

    private Builder(final Type type) {
      this.type = type;
    }

    /** Base learning rate: finite, {@code > 0}. */
    public Builder lr(final double lr) {
      this.lr = lr;
      return this;
    }

    /**
     * Momentum variant and coefficient {@code mu}: {@code 0 < mu < 1} for STANDARD and NESTEROV,
     * {@code mu = 0} for NONE. SGD takes all three; RMSProp NONE or STANDARD.
     */
    public Builder momentum(final Momentum kind, final double mu) {
      this.momentumKind = Objects.requireNonNull(kind, "kind");
      this.momentum = mu;
      return this;
    }

    /** Adam's moment decays, each in {@code [0, 1)}. */
    public Builder betas(final double beta1, final double beta2) {
      this.beta1 = beta1;
      this.beta2 = beta2;
      return this;
    }

    /** Numerical-stability term: finite, {@code > 0}. */
    public Builder epsilon(final double epsilon) {
      this.epsilon = epsilon;
      return this;
    }

    /** Weight decay: finite, {@code >= 0}. */
    public Builder weightDecay(final double weightDecay) {
      this.weightDecay = weightDecay;
      return this;
    }

    /** RMSProp's squared-gradient decay, in {@code [0, 1)}. */
    public Builder alpha(final double alpha) {
      this.alpha = alpha;
      return this;
    }

    /** Adadelta's decay, in {@code [0, 1)}. */
    public Builder rho(final double rho) {
      this.rho = rho;
      return this;
    }

    /**
     * Validates every setting and returns the immutable spec.
     *
     * @throws IllegalArgumentException naming the first bad setting, its value and the valid range
     *     (or the rule that does not use it)
     */
    public OptimizerSpec build() {
      final String owner = "OptimizerSpec(" + type + ")";
      final Map<String, Double> uses = DEFAULTS.get(type);
      final Map<String, Double> given = new LinkedHashMap<>();
      given.put(LR, lr);
      given.put(MOMENTUM, momentum);
      given.put(BETA1, beta1);
      given.put(BETA2, beta2);
      given.put(EPSILON, epsilon);
      given.put(WEIGHT_DECAY, weightDecay);
      given.put(ALPHA, alpha);
      given.put(RHO, rho);
      for (final Map.Entry<String, Double> e : given.entrySet()) {
        if (e.getValue() != null && !uses.containsKey(e.getKey())) {
          throw new IllegalArgumentException(
              owner
                  + " "
                  + e.getKey()
                  + " = "
                  + e.getValue()
                  + " is not used by "
                  + type
                  + ": remove it (settings used: "
                  + uses.keySet()
                  + ")");
        }
      }
      if (lr == null && Double.isNaN(uses.get(LR))) {
        throw new IllegalArgumentException(
            owner + " lr is not set and has no default: set a finite lr > 0, e.g. 0.1");
      }
      final Set<String> defaulted = new LinkedHashSet<>();
      for (final String name : uses.keySet()) {
        if (given.get(name) == null) {
          defaulted.add(name);
        }
      }
      final OptimizerSpec spec = new OptimizerSpec(this, defaulted);
      Checks.positiveFinite(owner, LR, spec.lr);
      Checks.nonNegativeFinite(owner, WEIGHT_DECAY, spec.weightDecay);
      if (uses.containsKey(EPSILON)) {
        Checks.positiveFinite(owner, EPSILON, spec.epsilon);
      }
      if (uses.containsKey(BETA1)) {
        Checks.unitHalfOpen(owner, BETA1, spec.beta1);
        Checks.unitHalfOpen(owner, BETA2, spec.beta2);
      }
      if (uses.containsKey(ALPHA)) {
        Checks.unitHalfOpen(owner, ALPHA, spec.alpha);
      }
      if (uses.containsKey(RHO)) {
        Checks.unitHalfOpen(owner, RHO, spec.rho);
      }
      if (uses.containsKey(MOMENTUM)) {
        checkMomentum(owner, spec.momentumKind, spec.momentum);
      }
      return spec;
    }

    private void checkMomentum(final String owner, final Momentum kind, final double mu) {
      final Set<Momentum> allowed =
          type == Type.SGD
              ? EnumSet.allOf(Momentum.class)
              : EnumSet.of(Momentum.NONE, Momentum.STANDARD);
      if (!allowed.contains(kind)) {
        throw new IllegalArgumentException(
            owner + " momentum kind " + kind + " is not supported by " + type + ": use " + allowed);
      }
      if (kind == Momentum.NONE) {
        if (mu != 0.0) {
          throw Checks.outOfRange(
              owner, MOMENTUM, mu, "must be 0 with Momentum.NONE (use STANDARD or NESTEROV)");
        }
      } else if (!(mu > 0.0 && mu < 1.0)) {
        throw Checks.outOfRange(owner, MOMENTUM, mu, "must be in (0, 1) with Momentum." + kind);
      }
    }
  }
}
