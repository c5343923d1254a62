package io.synctower.common.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** The profile's op table names the ops of the pooling layers (none is "unknown"). */
class OpEnginesTest {
  private static final Shape IMAGE = Shape.image(4, 4, 2);

  @Test
  void shouldNameThePoolingOpsAndTheirEngines() {
    final DataType f32 = DataType.FLOAT;
    final Layer avg = new AvgPool2D("avg", IMAGE, 3, 1, 1, f32);
    final Layer max = new MaxPool2D("max", IMAGE, 3, 2, 1, f32);
    final Layer gap = new GlobalAvgPool("gap", IMAGE, f32);
    assertEquals(
        new OpEngines.Engine("avgpool2d", "oneDNN"),
        OpEngines.of(avg, f32, "-onednn-avx2", true, false));
    assertEquals(
        new OpEngines.Engine("avgpool2d_bp", "libnd4j loops"),
        OpEngines.of(avg, DataType.DOUBLE, "-onednn-avx2", true, true));
    assertEquals(
        new OpEngines.Engine("maxpool2d_bp", "oneDNN"),
        OpEngines.of(max, f32, "-onednn-avx2", true, true));
    assertEquals(
        new OpEngines.Engine("reduce_mean", "libnd4j loops"),
        OpEngines.of(gap, f32, "-onednn-avx2", true, false));
    assertEquals(
        new OpEngines.Engine("reduce_mean_bp", "libnd4j loops"),
        OpEngines.of(gap, f32, "", true, true));
  }

  @Test
  void shouldNameTheResidualJunctionsOps() {
    final DataType f32 = DataType.FLOAT;
    final ResidualJunction junction = new ResidualJunction("layer1.0", IMAGE, f32);
    final Layer fork = junction.fork();
    final Layer shortcut = junction.shortcut(IMAGE);
    final Layer add = junction.add(IMAGE);
    assertEquals(new OpEngines.Engine("view", "none"), OpEngines.of(fork, f32, "", true, false));
    assertEquals(
        new OpEngines.Engine("add", "libnd4j loops"), OpEngines.of(fork, f32, "", true, true));
    assertEquals(new OpEngines.Engine("view", "none"), OpEngines.of(shortcut, f32, "", true, true));
    assertEquals(
        new OpEngines.Engine("add", "libnd4j loops"), OpEngines.of(add, f32, "", true, false));
    assertEquals(
        new OpEngines.Engine("assign", "libnd4j loops"), OpEngines.of(add, f32, "", true, true));
  }
}
