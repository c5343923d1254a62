package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The allocator notice is for commands that compute, not for help and version text. */
class NativeMemoryNoticeTest {
  @Test
  void helpAndVersionShouldPrintNoNotice() {
    assertTrue(SyncTowerCli.helpOrVersionOnly(new String[0]));
    assertTrue(SyncTowerCli.helpOrVersionOnly(new String[] {"help", "train"}));
    assertTrue(SyncTowerCli.helpOrVersionOnly(new String[] {"--version"}));
    assertTrue(SyncTowerCli.helpOrVersionOnly(new String[] {"train", "-h"}));
    assertFalse(SyncTowerCli.helpOrVersionOnly(new String[] {"train"}));
    assertFalse(SyncTowerCli.helpOrVersionOnly(new String[] {"bench", "step", "--profile"}));
  }
}
