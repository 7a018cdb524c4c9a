package dev.derrick.docker.internal;

import dev.derrick.api.DerrickException;

import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/** Copies a provider-side directory into a container as a tar stream written while it uploads. */
final class TarUpload {
    private TarUpload() {
    }

    /** Uploads {@code checkout} to {@code containerPath} (absolute) in the workspace's container. */
    static void tree(DockerWorkspace workspace, Path checkout, String containerPath, Executor writerThread) {
        try (PipedInputStream in = new PipedInputStream(1 << 16);
             PipedOutputStream out = new PipedOutputStream(in)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (out) {
                    Tars.writeTree(checkout, containerPath.substring(1), out);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, writerThread);
            try {
                workspace.upload(in);
            } finally {
                in.close();
            }
            writer.join();
        } catch (IOException e) {
            throw new DerrickException("copying " + containerPath + " into the container failed: " + e.getMessage(), e);
        } catch (CompletionException e) {
            throw new DerrickException("copying " + containerPath + " into the container failed: "
                    + DockerEngine.reason(e), e);
        }
    }
}
