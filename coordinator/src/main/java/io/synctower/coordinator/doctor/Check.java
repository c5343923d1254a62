package io.synctower.coordinator.doctor;

/**
 * One question the doctor asks of a run. Implementations read the {@link Evidence} (and may ask it
 * for the shared sample measurements, which are taken once) and never modify the run's model.
 *
 * <pre>{@code
 * List<Finding> findings = new ArrayList<>();
 * for (Check check : Doctor.checks()) {
 *   findings.add(check.examine(evidence));
 * }
 * }</pre>
 */
public interface Check {
  /** What is checked, a few words ("moving statistics"); names the finding if the check fails. */
  String name();

  /** Examines the run; always returns a finding, OK included. */
  Finding examine(Evidence evidence);
}
