package dev.derrick.api;

import java.time.Duration;
import java.util.Optional;

/**
 * A command started in the background ({@link Workspace#start(ExecRequest)}): a dev server, a database for the
 * tests, a long build to watch. It keeps running until it exits, is {@linkplain #kill() killed}, its timeout (if the
 * request set one) passes, or its workspace is closed or reset — whichever comes first; nothing it started outlives
 * its workspace.
 *
 * <pre>{@code
 * WorkspaceProcess server = ws.start(ExecRequest.of("python3 -m http.server 8000"));
 * server.waitForOutput("Serving HTTP", Duration.ofSeconds(10));
 * ws.exec("curl -s localhost:8000").orThrow();
 * ExecResult r = server.kill();
 * }</pre>
 *
 * <p>Output is kept up to the provider's cap (the most recent part); {@link #readOutput(long)} reads it on from an
 * offset, {@link #subscribe} streams it. Implementations are thread-safe.
 */
public interface WorkspaceProcess {
    /** The id, unique within the workspace; {@link Workspace#process(String)} finds it again. */
    String id();

    /** State: running, exit code, how long. */
    ProcessInfo info();

    /** Whether it still runs. */
    default boolean isAlive() {
        return info().running();
    }

    /** The interleaved output from {@code offset} (0 for all that is kept) up to now. */
    ProcessOutput readOutput(long offset);

    /**
     * Streams output to {@code listener}: what is kept from {@code offset} on at once, then every chunk as it
     * arrives, until the process ends or the returned handle is closed.
     *
     * @return closes the subscription (idempotent)
     */
    AutoCloseable subscribe(long offset, OutputListener listener);

    /**
     * Writes to the process's standard input.
     *
     * @throws DerrickException when the process has ended or its stdin was closed
     */
    void writeStdin(byte[] data);

    /** Closes standard input (the process sees end of file). Idempotent. */
    void closeStdin();

    /**
     * Waits for the process to end, at most {@code timeout}.
     *
     * @return the result (exit code, output kept, elapsed, whether it was killed by its timeout) once it ended;
     *         empty when it still runs after {@code timeout}
     * @throws DerrickException when interrupted (the interrupt flag is set again)
     */
    Optional<ExecResult> waitFor(Duration timeout);

    /**
     * Waits until the output from the start contains {@code text}, or the process ends, at most {@code timeout}.
     *
     * @return whether the text appeared
     */
    default boolean waitForOutput(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ProcessOutput out = readOutput(0);
            if (out.output().contains(text)) {
                return true;
            }
            if (!out.running() || System.nanoTime() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DerrickException("interrupted while waiting for output of process " + id());
            }
        }
    }

    /**
     * Kills the process and everything it started (the whole tree), and waits for it to end.
     *
     * @return its result; {@link ExecResult#timedOut()} is false (it was killed on request), the exit code what the
     *         signal left. Killing a process that already ended returns its result.
     */
    ExecResult kill();
}
