package dev.derrick.docker.internal;

import com.github.dockerjava.api.exception.DockerException;
import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.Redactor;

/** How a docker-java failure reads for a person: the engine's words scrubbed, or the engine lost. */
final class DockerFailures {
    private final Redactor redactor;

    DockerFailures(Redactor redactor) {
        this.redactor = redactor;
    }

    /** The exception for a failure that is not a {@code DerrickException}, or {@code null} when it is not docker's. */
    RuntimeException translate(RuntimeException e, WorkspaceConfig config) {
        if (e instanceof DockerException) {
            return new DerrickException("creating a workspace for '" + config.name() + "' failed: "
                    + redactor.redact(DockerWorkspace.firstLine(String.valueOf(e.getMessage()))), e);
        }
        // A lost engine reads as it does for every other operation; anything else is not docker's to explain.
        RuntimeException unreachable = DockerEngine.unreachable(e);
        return unreachable == e ? null : unreachable;
    }
}
