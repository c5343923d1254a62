package io.synctower.common.backend;

/**
 * A child JVM's main for {@link NativeVariantLoadTest}: selects the native build exactly as {@code
 * synctower}'s main does, loads ND4J, and prints what was asked for and what was mapped, one {@code
 * key=value} per line.
 */
public final class LoadedBackendProbe {
  private LoadedBackendProbe() {}

  public static void main(final String[] args) {
    final String requested = NativeVariant.select();
    final LoadedBackend loaded = LoadedBackend.describe();
    System.out.println("requested=" + requested);
    System.out.println("loaded=" + loaded.nativeBuild());
    System.out.println("library=" + loaded.nativeLibrary());
  }
}
