package dev.derrick.server.internal.http;

import dev.derrick.core.wire.WireError;
import dev.derrick.server.internal.Reply;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * What every request passes before its body is read, on the API routes and on mounted servlets alike: the bearer
 * token (compared in constant time) and the declared body length against the limit.
 */
final class RequestChecks {
    private final byte[] apiToken;
    private final long maxBodyBytes;

    /** @param apiToken the token, or {@code null}/empty for none */
    RequestChecks(String apiToken, long maxBodyBytes) {
        this.apiToken = apiToken == null || apiToken.isEmpty() ? null : apiToken.getBytes(StandardCharsets.UTF_8);
        this.maxBodyBytes = maxBodyBytes;
    }

    boolean authorized(Request request) {
        if (apiToken == null) {
            return true;
        }
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(given, apiToken);
    }

    static Reply unauthorized(Response response) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"derrick\"");
        return Reply.error(WireError.of(401, WireError.UNAUTHORIZED,
                "missing or wrong bearer token: send 'Authorization: Bearer <DERRICK_API_TOKEN>'"));
    }

    /** A 413 (and {@code Connection: close}) when the declared length is over the limit, else {@code null}. */
    Reply declaredTooLarge(Request request, Response response) {
        long declared = request.getLength();
        if (declared > maxBodyBytes) {
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
            return Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE, "request body of " + declared
                    + " bytes is larger than the limit of " + maxBodyBytes + " bytes"));
        }
        return null;
    }
}
