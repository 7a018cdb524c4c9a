package dev.derrick.server.internal.http;

import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;
import dev.derrick.core.wire.Wire;
import dev.derrick.core.protocol.Operation;
import dev.derrick.server.internal.Reply;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Streams a command's output as it runs, for a {@code cmd} or {@code cmd_with_output} request that sent
 * {@code Accept: application/x-ndjson}: a chunked 200 of newline-delimited JSON, one
 * {@code {"stream": "stdout"|"stderr", "chunk": text}} line per piece of output (the NATS stream messages' format),
 * then one last line: {@code {"result": <the usual reply>}} or, when the operation failed,
 * {@code {"status": <HTTP status>, "error": <the usual error body>}}.
 *
 * <p>Nothing is sent before the first output: a request that fails before its command prints (unknown workspace,
 * bad body) and a command that prints nothing get the ordinary reply with its ordinary status. Clients that do not
 * ask for NDJSON never see it. Writes block the command's output reader while the client is slow to read; the
 * connection's idle timeout ends a client that stops reading, and the command runs on.
 */
final class OutputStreamer implements OutputListener {
    static final String NDJSON = "application/x-ndjson";

    private final Response response;
    private OutputStream out;
    private boolean broken;
    private int count;

    OutputStreamer(Response response) {
        this.response = response;
    }

    /** Whether the request asked for a streamed reply. */
    static boolean wants(Request request) {
        String accept = request.getHeaders().get(HttpHeader.ACCEPT);
        return accept != null && accept.toLowerCase(Locale.ROOT).contains(NDJSON);
    }

    /** Whether an operation's reply can be streamed. */
    static boolean streams(Operation op) {
        return op == Operation.CMD || op == Operation.CMD_WITH_OUTPUT;
    }

    @Override
    public synchronized void onOutput(StreamKind stream, String chunk) {
        if (broken || chunk.isEmpty()) {
            return;
        }
        try {
            if (out == null) {
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, NDJSON);
                out = Content.Sink.asOutputStream(response);
            }
            line(Map.of("stream", stream == StreamKind.STDERR ? "stderr" : "stdout", "chunk", chunk));
            out.flush();
            count++;
        } catch (IOException | RuntimeException e) {
            // the client went away; the command runs on, its result is logged as usual
            broken = true;
        }
    }

    /** Whether the streamed reply has begun (headers sent). */
    synchronized boolean started() {
        return out != null;
    }

    synchronized int count() {
        return count;
    }

    /** Writes the last line, carrying the operation's reply, and ends the response. */
    synchronized void finish(Reply reply) throws IOException {
        if (broken) {
            throw new IOException("the client closed the streamed reply");
        }
        Map<String, Object> last = new LinkedHashMap<>();
        if (reply.isError() || reply.status() >= 300) {
            last.put("status", reply.status());
            last.put("error", Wire.read(reply.body(), com.fasterxml.jackson.databind.JsonNode.class, "error reply"));
        } else {
            last.put("result", Wire.read(reply.body(), com.fasterxml.jackson.databind.JsonNode.class, "reply"));
        }
        line(last);
        out.close();
    }

    private void line(Object value) throws IOException {
        byte[] json = Wire.write(value);
        byte[] withNewline = new byte[json.length + 1];
        System.arraycopy(json, 0, withNewline, 0, json.length);
        withNewline[json.length] = '\n';
        out.write(withNewline);
    }

    @Override
    public String toString() {
        return "OutputStreamer[" + count + " chunks" + (broken ? ", client gone" : "") + "]";
    }
}
