package io.synctower.common.nn;

/** A model whose shapes do not flow: the message names the layer and suggests a fix. */
public final class ShapeException extends IllegalArgumentException {
  private final String layer;
  private final String problem;

  public ShapeException(final String layer, final String problem) {
    super("layer '" + layer + "': " + problem);
    this.layer = layer;
    this.problem = problem;
  }

  /** The layer's name. */
  public String layer() {
    return layer;
  }

  /** What is wrong and the fix, without the layer's name. */
  public String problem() {
    return problem;
  }
}
