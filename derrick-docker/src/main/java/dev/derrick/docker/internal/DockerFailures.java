package dev.derrick.docker.internal;

import com.github.dockerjava.api.exception.DockerException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.Redactor;

import java.io.IOException;

/** How a docker-java failure reads for a person: the engine's words scrubbed, or the engine lost. */
final class DockerFailures {
    private final Redactor redactor;
    private final DockerEngine engine;

    DockerFailures(Redactor redactor, DockerEngine engine) {
        this.redactor = redactor;
        this.engine = engine;
    }

    /** The exception for a failure that is not a {@code DerrickException}, or {@code null} when it is not docker's. */
    RuntimeException translate(RuntimeException e, WorkspaceConfig config) {
        if (e instanceof DockerException) {
            return new DerrickException("creating a workspace for '" + config.name() + "' failed: "
                    + redactor.redact(DockerWorkspace.firstLine(String.valueOf(e.getMessage()))), e);
        }
        if (isConnectionFailure(e)) {
            // The same words as every other operation that finds the engine gone (no exception class names).
            return DockerEngine.unreachable(e);
        }
        return null;
    }

    private static boolean isConnectionFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }
}
