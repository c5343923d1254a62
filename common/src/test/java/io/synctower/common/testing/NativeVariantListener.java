package io.synctower.common.testing;

import io.synctower.common.backend.NativeVariant;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Selects the ND4J native build before any test class touches ND4J, exactly as the launcher does,
 * so tests run the same natives as training (registered via META-INF/services).
 */
public final class NativeVariantListener implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(final LauncherSession session) {
    NativeVariant.select();
  }
}
