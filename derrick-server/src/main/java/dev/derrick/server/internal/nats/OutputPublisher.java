package dev.derrick.server.internal.nats;

import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;
import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.wire.Wire;
import io.nats.client.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Publishes a command's output while it runs to the subject a controller named in {@value NatsProtocol#STREAM}:
 * {@code {"stream": "stdout"|"stderr", "chunk": text}} per message, in the order the provider reports it. A chunk
 * larger than fits in one message goes as several. The count goes into the reply's {@value NatsProtocol#STREAMED}
 * header, so the controller knows when it has them all. Plain publishes to a subject of the controller's choosing:
 * nothing {@code io.nats.service} offers (its endpoints answer one reply per request).
 */
final class OutputPublisher implements OutputListener {
    private static final Logger LOG = LoggerFactory.getLogger(OutputPublisher.class);

    private final Connection conn;
    private final String subject;
    private final AtomicInteger published = new AtomicInteger();

    OutputPublisher(Connection conn, String subject) {
        this.conn = conn;
        this.subject = subject;
    }

    @Override
    public void onOutput(StreamKind stream, String chunk) {
        String name = stream == StreamKind.STDERR ? "stderr" : "stdout";
        // escaped JSON needs at most 6 bytes per char: stay well inside the server's max payload
        int max = Math.max(1024, NatsProtocol.chunkSize(conn.getServerInfo().getMaxPayload()) / 8);
        for (int from = 0; from < chunk.length(); ) {
            int to = Math.min(chunk.length(), from + max);
            if (to < chunk.length() && Character.isHighSurrogate(chunk.charAt(to - 1))) {
                to--;
            }
            publish(name, chunk.substring(from, to));
            from = to;
        }
    }

    private synchronized void publish(String stream, String part) {
        try {
            conn.publish(subject, Wire.write(Map.of("stream", stream, "chunk", part)));
            published.incrementAndGet();
        } catch (RuntimeException e) {
            LOG.debug("could not stream output to {}: {}", subject, e.toString());
        }
    }

    synchronized int count() {
        return published.get();
    }
}
