package dev.derrick.local.internal.cache;

import dev.derrick.api.ExecResult;
import dev.derrick.api.ProgressListener;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** A plain {@code bash -c} runner standing in for the provider's process machinery in cache tests. */
final class BashRunner implements SetupRunner {
    @Override
    public ExecResult run(Path directory, String script, Map<String, String> env, ProgressListener progress) {
        long start = System.nanoTime();
        try {
            ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(directory.toFile()).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            return new ExecResult(code, out, "", out, Duration.ofNanos(System.nanoTime() - start), false, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
