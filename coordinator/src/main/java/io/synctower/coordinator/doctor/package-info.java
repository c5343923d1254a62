/**
 * The BN doctor: checks a run (its config, its checkpoint's weights, a sample of its training set)
 * for the batch-normalization failures of the four seed reports and explains each finding with the
 * numbers it measured, why they matter and the fix.
 *
 * <pre>{@code
 * Evidence evidence = new Evidence(config, model, data, epochs, 512, Progress.NONE);
 * Report report = Doctor.examine(evidence, "runs/x, step 120", runDir);  // one Finding per Check
 * System.out.print(TerminalReport.render(report, false));  // one line per check, fixes below
 * Files.writeString(runDir.resolve("doctor.md"), MarkdownReport.render(report));
 * }</pre>
 *
 * <p>Each {@link io.synctower.coordinator.doctor.Check} is one class with one question. The checks
 * never modify the run's model: everything that forwards data works on copies, with dropout off, so
 * that a difference between training and inference mode is BN's alone. What must not live here:
 * training, transport, or any change to a run directory other than writing {@code doctor.md}.
 */
package io.synctower.coordinator.doctor;
