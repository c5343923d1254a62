package io.synctower.coordinator.experiments;

import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import org.apache.commons.math3.exception.MathIllegalArgumentException;
import org.apache.commons.math3.stat.regression.OLSMultipleLinearRegression;

/**
 * Least-squares fit of step time against tower count N (Commons Math's {@link
 * OLSMultipleLinearRegression}), to separate what a step costs regardless of N from what each tower
 * adds, and to extrapolate:
 *
 * <ul>
 *   <li>strong scaling (fixed global batch): {@code T(N) = a + W/N + b*N}: a constant per step
 *       (optimizer, coordination), divisible work W (compute split over the towers), and a cost per
 *       tower b (each all-reduce and BN reduction gets longer with more members, more towers
 *       compete for cores). Throughput {@code B / T(N)} peaks at {@code N* = sqrt(W/b)}: beyond it,
 *       more towers make the step slower.
 *   <li>weak scaling (fixed per-tower batch): {@code T(N) = a + b*N}: throughput {@code B*N / T(N)}
 *       keeps growing towards {@code B/b}, but efficiency {@code T(1)/T(N)} falls below 50% at
 *       {@code N = a/b + 2}.
 * </ul>
 *
 * <p>With fewer tower counts than coefficients the fit drops terms instead of failing: strong
 * scaling on two counts fits {@code a + W/N} (no per-tower cost can be told apart), and one count
 * fits nothing. {@link Result#caveat()} says so; a fit with as many points as coefficients passes
 * through every point, so its R² is 1 by construction and says nothing about the model.
 */
public final class ScalingFit {
  /** A coefficient of the model. */
  public enum Term {
    CONSTANT("a", "constant per step"),
    DIVISIBLE("W", "divisible work (W/N)"),
    PER_TOWER("b", "cost per tower (b*N)");

    private final String symbol;
    private final String meaning;

    Term(final String symbol, final String meaning) {
      this.symbol = symbol;
      this.meaning = meaning;
    }

    public String symbol() {
      return symbol;
    }

    public String meaning() {
      return meaning;
    }
  }

  /**
   * A fitted model; coefficients in milliseconds (W in ms x towers, b in ms per tower), 0 for a
   * term not fitted.
   *
   * @param points the distinct tower counts fitted
   * @param caveat why the fit is weaker than the full model, or empty
   */
  public record Result(
      ScalingMode mode,
      List<Term> terms,
      double a,
      double w,
      double b,
      double rSquared,
      int points,
      String caveat) {
    /** Whether anything was fitted. */
    public boolean fitted() {
      return !terms.isEmpty();
    }

    /** The model's step time at {@code towers}, in milliseconds; NaN when nothing was fitted. */
    public double stepMillis(final double towers) {
      return fitted() ? a + w / towers + b * towers : Double.NaN;
    }

    /** The model's samples per second at {@code towers} for the config's batch size. */
    public double throughput(final double towers, final int configBatch) {
      final double global =
          mode == ScalingMode.STRONG ? configBatch : (double) configBatch * towers;
      return global / (stepMillis(towers) / 1000);
    }

    /**
     * Strong scaling: the tower count where throughput peaks, {@code sqrt(W/b)}; empty when the
     * per-tower cost was not fitted or is not positive (no peak within the model) or in weak mode.
     */
    public OptionalDouble peakTowers() {
      if (mode != ScalingMode.STRONG || !terms.contains(Term.PER_TOWER) || b <= 0 || w <= 0) {
        return OptionalDouble.empty();
      }
      return OptionalDouble.of(Math.sqrt(w / b));
    }

    /**
     * Weak scaling: the tower count where efficiency {@code T(1)/T(N)} falls to 50%, {@code a/b +
     * 2}; empty in strong mode or when b is not positive.
     */
    public OptionalDouble halfEfficiencyTowers() {
      if (mode != ScalingMode.WEAK || !terms.contains(Term.PER_TOWER) || b <= 0) {
        return OptionalDouble.empty();
      }
      return OptionalDouble.of(a / b + 2);
    }

    /**
     * The model as a formula with its coefficients, e.g. {@code T(N) = 3.1 + 95.2/N + 1.4*N ms}.
     */
    public String formula() {
      if (!fitted()) {
        return "no fit";
      }
      final StringBuilder f = new StringBuilder("T(N) = ").append(ms(a));
      if (terms.contains(Term.DIVISIBLE)) {
        f.append(w < 0 ? " - " : " + ").append(ms(Math.abs(w))).append("/N");
      }
      if (terms.contains(Term.PER_TOWER)) {
        f.append(b < 0 ? " - " : " + ").append(ms(Math.abs(b))).append("*N");
      }
      return f.append(" ms").toString();
    }

    private static String ms(final double v) {
      return String.format(Locale.ROOT, "%.3g", v);
    }
  }

  private ScalingFit() {}

  /**
   * Fits step times (one per tower count, e.g. medians) against distinct tower counts.
   *
   * @throws IllegalArgumentException if the arrays differ in length or a tower count repeats
   */
  public static Result fit(final ScalingMode mode, final int[] towers, final double[] stepMillis) {
    if (towers.length != stepMillis.length) {
      throw new IllegalArgumentException(
          towers.length + " tower counts but " + stepMillis.length + " step times");
    }
    final long distinct = java.util.Arrays.stream(towers).distinct().count();
    if (distinct != towers.length) {
      throw new IllegalArgumentException(
          "tower counts repeat: " + java.util.Arrays.toString(towers));
    }
    final int n = towers.length;
    final List<Term> full =
        mode == ScalingMode.STRONG
            ? List.of(Term.CONSTANT, Term.DIVISIBLE, Term.PER_TOWER)
            : List.of(Term.CONSTANT, Term.PER_TOWER);
    if (n < 2) {
      return new Result(
          mode,
          List.of(),
          0,
          0,
          0,
          Double.NaN,
          n,
          n
              + " tower count: a fit needs at least 2 (strong scaling: 3, to separate the"
              + " per-tower cost); run more, e.g. --towers 1,2,4");
    }
    final List<Term> terms =
        n >= full.size() ? full : List.of(Term.CONSTANT, Term.DIVISIBLE); // strong on 2 points
    String caveat = "";
    if (terms.size() < full.size()) {
      caveat =
          n
              + " tower counts fit only T(N) = a + W/N: the per-tower cost b cannot be told apart"
              + " and no peak is predicted; run at least 3 tower counts, e.g. --towers 1,2,4";
    } else if (n == terms.size()) {
      caveat =
          n
              + " tower counts for "
              + terms.size()
              + " coefficients: the fit passes through every point (R² = 1 by construction);"
              + " more tower counts would test the model";
    }
    final double[][] x = new double[n][terms.size() - 1];
    for (int i = 0; i < n; i++) {
      for (int t = 1; t < terms.size(); t++) {
        x[i][t - 1] = terms.get(t) == Term.DIVISIBLE ? 1.0 / towers[i] : towers[i];
      }
    }
    final OLSMultipleLinearRegression ols = new OLSMultipleLinearRegression();
    final double[] beta;
    final double r2;
    try {
      ols.newSampleData(stepMillis.clone(), x);
      beta = ols.estimateRegressionParameters();
      r2 = ols.calculateRSquared();
    } catch (
        MathIllegalArgumentException
            e) { // too few points, or a singular design (SingularMatrixException)
      return new Result(
          mode, List.of(), 0, 0, 0, Double.NaN, n, "the fit failed: " + e.getMessage());
    }
    final double a = beta[0];
    double w = 0;
    double b = 0;
    for (int t = 1; t < terms.size(); t++) {
      if (terms.get(t) == Term.DIVISIBLE) {
        w = beta[t];
      } else {
        b = beta[t];
      }
    }
    return new Result(mode, terms, a, w, b, r2, n, caveat);
  }
}
