/**
 * Experiments that run the trainer many times and report on the runs: the {@code scale} command's
 * sweep over tower counts and BN modes.
 *
 * <p>The flow, one class per step: {@link io.synctower.coordinator.experiments.ScalePlan} (which
 * runs, validated before any starts) → {@link io.synctower.coordinator.experiments.ScaleRunner}
 * (each run through the ordinary {@link io.synctower.coordinator.train.Trainer}, measured as a
 * {@link io.synctower.coordinator.experiments.RunMeasurement}) → {@link
 * io.synctower.coordinator.experiments.ScalingTable} (throughput, efficiency, the step split per
 * run) → {@link io.synctower.coordinator.experiments.ScalingCsv}, {@link
 * io.synctower.coordinator.experiments.ScalingFit}, {@link
 * io.synctower.coordinator.experiments.ScalingCharts} and {@link
 * io.synctower.coordinator.experiments.ScalingReport}, which write the run directory. {@link
 * io.synctower.coordinator.experiments.ScaleExperiment} strings them together.
 *
 * <p>Nothing here talks to towers directly or parses command lines: runs go through a {@link
 * io.synctower.coordinator.experiments.ScaleRunner.RunExecutor}, options come from the CLI.
 */
package io.synctower.coordinator.experiments;
