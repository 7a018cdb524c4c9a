package dev.derrick.api;

/**
 * Receives command output while the command runs, in the order it was produced. Called from a provider thread;
 * keep it quick. Chunks are decoded as UTF-8 at chunk boundaries, so a multi-byte character is never split.
 */
@FunctionalInterface
public interface OutputListener {
    /** A listener that ignores everything. */
    OutputListener NONE = (stream, chunk) -> { };

    /**
     * A piece of output arrived.
     *
     * @param stream which stream it came from
     * @param chunk  the text, possibly several lines or part of one
     */
    void onOutput(StreamKind stream, String chunk);
}
