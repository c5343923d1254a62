package io.synctower.coordinator.doctor;

/** How bad a finding is, in increasing order; the worst one decides the doctor's exit code. */
public enum Severity {
  /** Nothing to do. */
  OK,
  /** Worth a look: a default that differs between frameworks, a statistic group that is small. */
  WARN,
  /** Inference will not do what training measured; the run needs the fix. */
  PROBLEM
}
