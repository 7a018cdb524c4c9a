package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs one process to completion: stdout and stderr captured apart and interleaved (as {@link ExecResult} wants
 * them), streamed to the listener as they arrive, capped at {@link #MAX_BYTES}, killed at the timeout (exit 124).
 * This is the one piece of exec a backend writes itself; everything around creating a workspace is the engine's.
 */
final class CommandRunner {
    static final long MAX_BYTES = 4L * 1024 * 1024;

    private CommandRunner() {
    }

    static ExecResult run(List<String> command, Path dir, Map<String, String> env, Duration timeout,
                          OutputListener listener, Consumer<Process> started) {
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        long start = System.nanoTime();
        Process process;
        try {
            process = builder.start();
            process.getOutputStream().close(); // no stdin
        } catch (IOException e) {
            throw new DerrickException("cannot start " + command.get(0) + ": " + e.getMessage(), e);
        }
        started.accept(process);
        Capture capture = new Capture(listener == null ? OutputListener.NONE : listener);
        Thread stdout = capture.pump(process.getInputStream(), StreamKind.STDOUT);
        Thread stderr = capture.pump(process.getErrorStream(), StreamKind.STDERR);
        boolean timedOut = false;
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                timedOut = true;
                kill(process);
                process.waitFor(10, TimeUnit.SECONDS);
            }
            stdout.join(5000);
            stderr.join(5000);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while waiting for: " + String.join(" ", command), e);
        }
        // A command killed at its timeout exits 124, as under coreutils' timeout: the same in every provider.
        int exit = timedOut ? ExecResult.TIMED_OUT_EXIT_CODE : process.isAlive() ? -1 : process.exitValue();
        synchronized (capture) {
            return new ExecResult(exit, capture.stdout.toString(), capture.stderr.toString(), capture.all.toString(),
                    Duration.ofNanos(System.nanoTime() - start), timedOut, capture.truncated);
        }
    }

    static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** Both streams' text; the reader decodes UTF-8 across read boundaries (bad bytes become U+FFFD). */
    private static final class Capture {
        final StringBuilder stdout = new StringBuilder();
        final StringBuilder stderr = new StringBuilder();
        final StringBuilder all = new StringBuilder();
        final OutputListener listener;
        long bytes;
        boolean truncated;

        Capture(OutputListener listener) {
            this.listener = listener;
        }

        Thread pump(InputStream in, StreamKind kind) {
            Thread t = new Thread(() -> {
                char[] buffer = new char[8192];
                try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                    for (int n; (n = reader.read(buffer)) >= 0; ) {
                        add(kind, new String(buffer, 0, n));
                    }
                } catch (IOException ignored) {
                    // the process ended or was killed
                }
            }, "sandbox-" + kind.name().toLowerCase(java.util.Locale.ROOT));
            t.setDaemon(true);
            t.start();
            return t;
        }

        private void add(StreamKind kind, String chunk) {
            synchronized (this) {
                int size = chunk.getBytes(StandardCharsets.UTF_8).length;
                if (bytes + size > MAX_BYTES) {
                    truncated = true;
                    return;
                }
                bytes += size;
                (kind == StreamKind.STDOUT ? stdout : stderr).append(chunk);
                all.append(chunk);
            }
            try {
                listener.onOutput(kind, chunk);
            } catch (RuntimeException ignored) {
                // a failing listener must not break the command
            }
        }
    }
}
