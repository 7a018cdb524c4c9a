package dev.derrick.api;

/**
 * A piece of a background process's interleaved output ({@link WorkspaceProcess#readOutput(long)}), with the
 * offsets to read on from. Offsets count characters of the interleaved output since the process started; a provider
 * keeps the most recent part only (its output cap), so {@code offset} can be past the one asked for.
 *
 * @param output     stdout and stderr interleaved, from {@code offset} to {@code nextOffset}
 * @param offset     where {@code output} starts
 * @param nextOffset where the next read should start
 * @param dropped    whether output between the offset asked for and {@code offset} was dropped (older than the cap)
 * @param running    whether the process was still running when this was read
 * @param exitCode   its exit code once it ended, else {@code null}
 */
public record ProcessOutput(String output, long offset, long nextOffset, boolean dropped, boolean running,
                            Integer exitCode) {
    /** A {@code null} output is {@code ""}. */
    public ProcessOutput {
        output = output == null ? "" : output;
    }
}
