package dev.derrick.server.internal;

import dev.derrick.core.wire.Wire;
import dev.derrick.core.wire.WireError;

/**
 * A transport-neutral answer: an HTTP-style status, a content type and the body bytes. {@code errorCode} is set for
 * error replies (for logging and for transports that put it in a header).
 */
public record Reply(int status, String contentType, byte[] body, String errorCode) {
    public static final String JSON = "application/json";
    public static final String OCTET_STREAM = "application/octet-stream";

    /** A 200 with the JSON form of {@code value}. */
    public static Reply json(Object value) {
        return new Reply(200, JSON, Wire.write(value), null);
    }

    /** A 200 with raw bytes. */
    public static Reply bytes(byte[] content) {
        return new Reply(200, OCTET_STREAM, content, null);
    }

    /** An error reply. */
    public static Reply error(WireError error) {
        return new Reply(error.status(), JSON, error.toJson(), error.body().error());
    }

    /** Whether this is an error reply. */
    public boolean isError() {
        return errorCode != null;
    }
}
