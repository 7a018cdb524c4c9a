package dev.derrick.server.internal.http;

import dev.derrick.core.wire.WireError;
import dev.derrick.server.internal.Reply;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;

/** Jetty's own error replies (malformed request line or headers, headers too large, …) as derrick's JSON errors. */
final class JsonErrorHandler extends ErrorHandler {
    /** Jetty writes error bodies only for GET, POST and HEAD by default; a DELETE or PUT gets the JSON too. */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) {
        String code2 = switch (code) {
            case 404 -> WireError.NOT_FOUND;
            case 405 -> WireError.METHOD_NOT_ALLOWED;
            case 413 -> WireError.PAYLOAD_TOO_LARGE;
            case 401 -> WireError.UNAUTHORIZED;
            case 503 -> WireError.PROVIDER_UNAVAILABLE;
            default -> code >= 500 ? WireError.INTERNAL : WireError.INVALID_REQUEST;
        };
        String reason = org.eclipse.jetty.http.HttpStatus.getMessage(code);
        String text = message == null || message.isBlank() || message.equals(reason)
                ? "the HTTP request is malformed or not allowed (" + code + " " + reason + ")"
                : "the HTTP request is malformed or not allowed: " + message + " (" + code + " " + reason + ")";
        byte[] json = WireError.of(code, code2, text).toJson();
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, Reply.JSON);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
        // Jetty closes the connection after a request it rejected: say so, so no client reuses it
        response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
        response.write(true, ByteBuffer.wrap(json), callback);
    }
}
