package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
import dev.derrick.api.OutputListener;

import java.time.Duration;

/** Carries one operation to an agent and brings back its reply: HTTP or NATS. */
public interface Transport extends AutoCloseable {
    /**
     * Sends an operation and waits for the reply.
     *
     * @param workspace the workspace handle, {@code null} for {@link Operation#CREATE} and {@link Operation#LIST}
     * @param timeout   how long to wait for the reply at most
     * @param listener  receives streamed command output where the transport supports it; may be {@code null}
     * @throws dev.derrick.api.DerrickException when the agent cannot be reached or does not answer in time
     */
    RemoteReply call(Operation op, RemoteRef workspace, byte[] body, Duration timeout, OutputListener listener);

    /**
     * Sends an operation on one background process of a workspace ({@link Operation#needsProcess()}).
     *
     * @param processId the process handle id
     */
    RemoteReply call(Operation op, RemoteRef workspace, String processId, byte[] body, Duration timeout);

    /** Where this transport goes, for messages (never with credentials). */
    String describe();

    @Override
    void close();
}
