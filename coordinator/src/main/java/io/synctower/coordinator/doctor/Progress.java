package io.synctower.coordinator.doctor;

/**
 * Where the doctor's sample forwards report progress (a progress bar on the command line, nothing
 * after training). Called on the examining thread.
 */
public interface Progress {
  /** Reports nothing. */
  Progress NONE =
      new Progress() {
        @Override
        public void start(final String task, final long forwards) {}

        @Override
        public void advance() {}

        @Override
        public void done() {}
      };

  /** A task of {@code forwards} forwards begins. */
  void start(String task, long forwards);

  /** One forward finished. */
  void advance();

  /** The task finished. */
  void done();
}
