package io.synctower.common.nn;

/** A model whose shapes do not flow: the message names the layer and suggests a fix. */
public final class ShapeException extends IllegalArgumentException {
  public ShapeException(final String layer, final String problem) {
    super("layer '" + layer + "': " + problem);
  }
}
