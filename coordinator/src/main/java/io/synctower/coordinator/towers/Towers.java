package io.synctower.coordinator.towers;

import io.synctower.common.nn.Model;
import io.synctower.common.protocol.Command;
import io.synctower.common.protocol.Report;
import java.nio.file.Path;
import java.util.List;

/**
 * The coordinator's handle on its towers, wherever they run: threads of this JVM ({@link
 * InProcessTowers}) or worker processes over Aeron ({@code RemoteTowers}). The training loop is the
 * same for both:
 *
 * <pre>{@code
 * towers.send(new Command.TrainStep(...));   // to every tower
 * List<Report> round = towers.collect();     // one report per tower, by rank
 * }</pre>
 *
 * <p>Threads: {@link #send} and {@link #collect} are called by the coordinator's training thread.
 */
public interface Towers extends AutoCloseable {
  /** Number of towers (ranks 0..count()-1). */
  int count();

  /** Samples per step of each tower, by rank. */
  int[] shardSizes();

  /** Where the towers run, for the run log (e.g. "threads of this JVM"). */
  String describe();

  /** Where tower {@code rank} runs, for the run log (e.g. "Cpu device 0", "host h pid 12"). */
  String placement(int rank);

  /** Sends {@code command} to every tower. */
  void send(Command command);

  /**
   * Waits for one report from every tower and returns them by rank.
   *
   * @throws TowerFailedException naming the tower and the cause if a tower failed or was lost
   */
  List<Report> collect() throws InterruptedException;

  /**
   * Copies tower 0's trained weights (parameters and moving statistics) into {@code model}, a
   * replica of the same architecture held by the coordinator. Worker processes write them to a file
   * under {@code scratchDir} (which tower 0 must be able to reach: same host or shared file system)
   * that is read back and deleted.
   */
  void copyWeightsTo(Model model, Path scratchDir) throws InterruptedException;

  /**
   * Sets every tower's parameters and moving statistics to {@code model}'s (a replica of the same
   * architecture held by the coordinator, e.g. after a weight import), so every replica starts from
   * the same weights. Call between steps only.
   *
   * @throws UnsupportedOperationException when these towers cannot take weights from the
   *     coordinator, saying why
   */
  void loadWeightsFrom(Model model) throws InterruptedException;

  /**
   * Tower {@code rank}'s replica, for tests and diagnostics; read it between steps only.
   *
   * @throws IllegalStateException when the tower runs in another process
   */
  Model model(int rank);

  /** Stops every tower and releases what it holds. */
  @Override
  void close() throws InterruptedException;
}
