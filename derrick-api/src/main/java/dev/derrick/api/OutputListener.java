package dev.derrick.api;

/**
 * Receives command output while the command runs, in the order it was produced. Called from a provider thread;
 * keep it quick. Chunks are decoded as UTF-8 at chunk boundaries, so a multi-byte character is never split.
 */
@FunctionalInterface
public interface OutputListener {
    /** A listener that ignores everything. */
    OutputListener NONE = (stream, chunk) -> { };

    void onOutput(StreamKind stream, String chunk);
}
