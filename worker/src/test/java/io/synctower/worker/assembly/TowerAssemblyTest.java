package io.synctower.worker.assembly;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.config.ConfigLoader;
import io.synctower.common.config.RunConfig;
import io.synctower.common.protocol.Command;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The groups a tower asks for when it is assembled: the world group, then (SyncBN on more than one
 * tower) its sync group, laid out as worker processes opened them before {@link SyncGroups} (id 1 +
 * r / size, from rank (r / size) * size). In-process towers go through the same {@link
 * TowerAssembly#runtime}, so both transports open the same groups.
 */
class TowerAssemblyTest {
  private static final String CONFIG =
      """
      name: assembly
      seed: 3
      model:
        dtype: float64
        layers:
          - {type: conv2d, filters: 2, kernel: 3, stride: 2, bias: false}
          - {type: batchnorm}
          - {type: relu}
          - {type: flatten}
          - {type: dense, units: 4}
      data:
        train: {type: overfit, size: 8}
      training:
        epochs: 1
        batchSize: 8
        optimizer: {type: sgd, lr: 0.1}
      """;

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} towers, sync {1}, syncGroupSize {2}")
  @CsvSource(
      delimiter = ';',
      value = {
        // towers; sync; group size; groups opened by each rank (id:first+size), ranks split by |
        "1; false; 0; 0:0+1",
        "1; true;  0; 0:0+1",
        "4; false; 0; 0:0+4 | 0:0+4 | 0:0+4 | 0:0+4",
        "4; true;  0; 0:0+4 1:0+4 | 0:0+4 1:0+4 | 0:0+4 1:0+4 | 0:0+4 1:0+4",
        "4; true;  2; 0:0+4 1:0+2 | 0:0+4 1:0+2 | 0:0+4 2:2+2 | 0:0+4 2:2+2",
        "4; true;  1; 0:0+4 1:0+1 | 0:0+4 2:1+1 | 0:0+4 3:2+1 | 0:0+4 4:3+1"
      })
  void shouldOpenTheWorldThenItsSyncGroup(
      final int towers, final boolean sync, final int groupSize, final String expected) {
    final Map<String, String> overrides =
        sync
            ? Map.of(
                "towers", Integer.toString(towers),
                "bn.sync", "true",
                "bn.syncGroupSize", Integer.toString(groupSize))
            : Map.of("towers", Integer.toString(towers));
    final RunConfig config = ConfigLoader.parse(CONFIG, "assembly", overrides);
    final TrainingData data = TrainingData.load(config, dir);
    final TowerAssembly assembly = new TowerAssembly(1, config, data);
    final InProcessGroups groups = new InProcessGroups();
    final List<String> perRank = new ArrayList<>();
    for (int r = 0; r < towers; r++) {
      final List<String> opened = new ArrayList<>();
      final GroupOpener inProcess = groups.forRank(r);
      final GroupOpener recording =
          (id, first, size) -> {
            opened.add(id + ":" + first + "+" + size);
            return inProcess.open(id, first, size);
          };
      assembly.runtime(
          r,
          -1,
          Replicas.newModel(config, data),
          recording,
          new LinkedBlockingQueue<Command>(),
          report -> {},
          () -> {});
      perRank.add(String.join(" ", opened));
    }
    assertEquals(expected, String.join(" | ", perRank));
  }
}
