package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The HTTP layer in-process, over real sockets, against the test-only {@code testdir} backend found through
 * ServiceLoader: routing, errors, auth, body limits, concurrency. The packaged jar in local mode is driven by
 * {@code DerrickJarIT}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpApiServerTest {
    private Operations operations;
    private HttpApiServer server;

    private ApiClient start(String token, long maxBody) throws Exception {
        WorkspaceConfig config = WorkspaceConfig.builder("t").setupScript("echo ready > setup.txt").build();
        operations = new Operations(WorkspaceProviders.open("testdir"), config, new Redactor());
        server = HttpApiServer.builder(operations).port(0).apiToken(token).maxBodyBytes(maxBody).start();
        return new ApiClient(server.uri(), token);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (operations != null) {
            operations.close();
        }
    }

    @Test
    void runsTheOriginalFlowAndAnswersJsonErrors() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
        assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).isEmpty();
        String id = api.create("{\"env\":{\"GREETING\":\"hi\"}}");
        assertThat(api.ok("GET", "/workspaces", null).get("workspaces").get(0).get("id").asText()).isEqualTo(id);
        assertThat(api.ok("GET", "/workspaces/" + id, null).get("config_name").asText()).isEqualTo("t");

        JsonNode r = api.cmd(id, "echo $GREETING; cat setup.txt");
        assertThat(r.get("output").asText()).isEqualTo("hi\nready\n");
        assertThat(r.get("exit_code").asInt()).isZero();
        assertThat(r.has("duration_ms")).isTrue();

        // cmd: 200 on exit 0, 422 command_failed with the output otherwise
        assertThat(api.send("POST", "/workspaces/" + id + "/cmd", "{\"cmd\":\"true\"}").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> failed = api.send("POST", "/workspaces/" + id + "/cmd", "{\"cmd\":\"echo oops; exit 3\"}");
        assertThat(failed.statusCode()).isEqualTo(422);
        JsonNode err = ApiClient.json(failed);
        assertThat(err.get("error").asText()).isEqualTo("command_failed");
        assertThat(err.get("exit_code").asInt()).isEqualTo(3);
        assertThat(err.get("output").asText()).isEqualTo("oops\n");

        // write_file with Ruby-style base64 (line breaks) and working_dir, then read_file raw bytes
        byte[] bytes = new byte[300];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        String b64 = java.util.Base64.getMimeEncoder(60, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(bytes) + "\n";
        assertThat(api.ok("POST", "/workspaces/" + id + "/write_file", "{\"path\":\"f.bin\",\"working_dir\":\"sub\",\"content\":"
                + ApiClient.quote(b64) + "}").get("success").asBoolean()).isTrue();
        HttpResponse<byte[]> read = api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\":\"/sub/f.bin\"}");
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
        assertThat(read.body()).isEqualTo(bytes);

        // not implemented by this provider → 501
        HttpResponse<byte[]> reset = api.send("POST", "/workspaces/" + id + "/reset", "{}");
        assertThat(reset.statusCode()).isEqualTo(501);
        assertThat(ApiClient.json(reset).get("error").asText()).isEqualTo("not_supported");

        // client errors
        assertError(api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\": "), 400, "invalid_request", "line 1");
        assertError(api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"working_dir\":\"x\"}"), 400, "invalid_request", "'cmd'");
        assertError(api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"command\":\"ls\"}"), 400, "invalid_request", "unknown field 'command'");
        assertError(api.send("POST", "/workspaces/" + id + "/write_file", "{\"path\":\"x\",\"content\":\"%%%\"}"), 400, "invalid_request", "base64");
        assertError(api.send("POST", "/workspaces/nope/cmd_with_output", "{\"cmd\":\"true\"}"), 404, "workspace_not_found", "nope");
        assertError(api.send("GET", "/nowhere", null), 404, "not_found", "/nowhere");
        assertError(api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\":\"missing/file.txt\"}"), 404, "file_not_found", "missing");
        assertError(api.send("PUT", "/workspaces", "{}"), 405, "method_not_allowed", "GET, POST");
        assertError(api.send("POST", "/workspaces", "{\"config\":{\"name\":\"x\",\"setup_script\":\"exit 7\"}}"), 422, "setup_failed", "7");

        assertThat(api.ok("DELETE", "/workspaces/" + id, null).asBoolean()).isTrue();
        assertError(api.send("DELETE", "/workspaces/" + id, null), 404, "workspace_not_found", id);
        assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).isEmpty();
    }

    @Test
    void listFilesCheckpointAndRestoreAnswerJsonAndClearErrors() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String id = api.create("{}");
        api.cmd(id, "mkdir -p d/sub && printf abc > d/a.txt");
        JsonNode entries = api.ok("POST", "/workspaces/" + id + "/list_files", "{\"path\": \"d\"}").get("entries");
        assertThat(entries).hasSize(2);
        assertThat(entries.get(0).get("name").asText()).isEqualTo("a.txt");
        assertThat(entries.get(0).get("path").asText()).isEqualTo("d/a.txt");
        assertThat(entries.get(0).get("directory").asBoolean()).isFalse();
        assertThat(entries.get(0).get("size").asLong()).isEqualTo(3);
        assertThat(entries.get(1).get("directory").asBoolean()).isTrue();
        JsonNode root = api.ok("POST", "/workspaces/" + id + "/list_files", "{}").get("entries");
        assertThat(root.findValuesAsText("name")).contains("d", "setup.txt");
        assertThat(api.ok("POST", "/workspaces/" + id + "/list_files", "{\"path\": \"sub\", \"working_dir\": \"d\"}")
                .get("entries")).isEmpty();

        // a third-party provider's own failure for a missing directory still comes out as file_not_found
        HttpResponse<byte[]> missing = api.send("POST", "/workspaces/" + id + "/list_files", "{\"path\": \"nope\"}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(ApiClient.json(missing).get("error").asText()).isEqualTo("file_not_found");
        assertThat(ApiClient.json(missing).get("message").asText()).contains("nope");
        HttpResponse<byte[]> unknownField = api.send("POST", "/workspaces/" + id + "/list_files", "{\"dir\": \"d\"}");
        assertThat(unknownField.statusCode()).isEqualTo(400);
        assertThat(ApiClient.json(unknownField).get("message").asText()).contains("'dir'");

        // the test backend has no checkpoints: 501, and a restore body is checked before that
        HttpResponse<byte[]> checkpoint = api.send("POST", "/workspaces/" + id + "/checkpoint", "{}");
        assertThat(checkpoint.statusCode()).isEqualTo(501);
        assertThat(ApiClient.json(checkpoint).get("error").asText()).isEqualTo("not_supported");
        HttpResponse<byte[]> noId = api.send("POST", "/workspaces/" + id + "/restore", "{}");
        assertThat(noId.statusCode()).isEqualTo(400);
        assertThat(ApiClient.json(noId).get("message").asText()).contains("'checkpoint'");
        assertThat(api.send("POST", "/workspaces/" + id + "/restore", "{\"checkpoint\": \"cp-1\"}").statusCode())
                .isEqualTo(501);
        HttpResponse<byte[]> gone = api.send("POST", "/workspaces/no-such-ws/checkpoint", "{}");
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(ApiClient.json(gone).get("error").asText()).isEqualTo("workspace_not_found");
    }

    @Test
    void commandOutputStreamsAsNdjsonWhenAskedFor() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String id = api.create("{}");
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.BiFunction<String, String, HttpResponse<java.util.stream.Stream<String>>> streamed = (op, body) -> {
            try {
                return http.send(java.net.http.HttpRequest.newBuilder(api.base().resolve("/workspaces/" + id + "/" + op))
                        .header("Accept", "application/x-ndjson").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                        .build(), HttpResponse.BodyHandlers.ofLines());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };

        HttpResponse<java.util.stream.Stream<String>> ok = streamed.apply("cmd_with_output", "{\"cmd\": \"echo one; sleep 0.3; echo two\"}");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Content-Type")).hasValue("application/x-ndjson");
        java.util.List<JsonNode> lines = ok.body().map(l -> {
            try {
                return ApiClient.JSON.readTree(l);
            } catch (java.io.IOException e) {
                throw new AssertionError(l, e);
            }
        }).toList();
        JsonNode last = lines.get(lines.size() - 1);
        StringBuilder chunks = new StringBuilder();
        lines.subList(0, lines.size() - 1).forEach(l -> {
            assertThat(l.get("stream").asText()).isEqualTo("stdout");
            chunks.append(l.get("chunk").asText());
        });
        assertThat(chunks.toString()).isEqualTo("one\ntwo\n");
        assertThat(lines.size()).isGreaterThanOrEqualTo(3);
        assertThat(last.get("result").get("output").asText()).isEqualTo("one\ntwo\n");
        assertThat(last.get("result").get("exit_code").asInt()).isZero();

        // cmd that fails after printing: the last line carries the error and its status
        HttpResponse<java.util.stream.Stream<String>> failed = streamed.apply("cmd", "{\"cmd\": \"echo no; exit 3\"}");
        assertThat(failed.statusCode()).isEqualTo(200);
        java.util.List<String> failedLines = failed.body().toList();
        JsonNode end = ApiClient.JSON.readTree(failedLines.get(failedLines.size() - 1));
        assertThat(end.get("status").asInt()).isEqualTo(422);
        assertThat(end.get("error").get("error").asText()).isEqualTo("command_failed");
        assertThat(end.get("error").get("exit_code").asInt()).isEqualTo(3);

        // nothing printed, or an error before the command runs: the ordinary reply
        HttpResponse<java.util.stream.Stream<String>> quiet = streamed.apply("cmd_with_output", "{\"cmd\": \"true\"}");
        assertThat(quiet.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(ApiClient.JSON.readTree(String.join("", quiet.body().toList())).get("exit_code").asInt()).isZero();
        HttpResponse<java.util.stream.Stream<String>> bad = streamed.apply("cmd_with_output", "{\"command\": \"true\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        bad.body().close();
    }

    @Test
    void timeoutAnswersQuickly() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String id = api.create("{}");
        long start = System.nanoTime();
        JsonNode r = api.ok("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\":\"sleep 30\",\"timeout\":1}");
        assertThat(r.get("timed_out").asBoolean()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void bearerTokenGuardsEverythingButHealth() throws Exception {
        ApiClient api = start("s3cret-api-token", HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        ApiClient anonymous = api.withToken(null);
        assertThat(anonymous.send("GET", "/health", null).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> denied = anonymous.send("GET", "/workspaces", null);
        assertError(denied, 401, "unauthorized", "Bearer");
        assertThat(denied.headers().firstValue("WWW-Authenticate")).isPresent();
        assertError(api.withToken("s3cret-api-tokeX").send("GET", "/openapi.json", null), 401, "unauthorized", "token");
        assertThat(new String(denied.body(), StandardCharsets.UTF_8)).doesNotContain("s3cret");
        assertThat(api.send("GET", "/workspaces", null).statusCode()).isEqualTo(200);
        assertThat(api.send("GET", "/openapi.json", null).statusCode()).isEqualTo(200);
    }

    @Test
    void refusesNonLoopbackWithoutToken() throws Exception {
        operations = new Operations(WorkspaceProviders.open("testdir"), null, new Redactor());
        assertThatThrownBy(() -> HttpApiServer.builder(operations).bind(InetAddress.getByName("0.0.0.0")).port(0).start())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("DERRICK_API_TOKEN");
    }

    @Test
    void declaredOversizedBodyGets413WithoutBeingRead() throws Exception {
        start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /workspaces/x/write_file HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 2147483648\r\n\r\n{\"path\":\"big\",\"content\":\"").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = readHead(socket.getInputStream());
            assertThat(head).startsWith("HTTP/1.1 413");
        }
    }

    @Test
    void streamedBodyPastTheLimitGets413() throws Exception {
        ApiClient api = start(null, 1024 * 1024);
        String id = api.create("{}");
        // chunked (no Content-Length): counted while streaming
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /workspaces/" + id + "/write_file HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = "A".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
            byte[] first = "{\"path\":\"big\",\"content\":\"".getBytes(StandardCharsets.US_ASCII);
            writeChunk(out, first);
            try {
                for (int i = 0; i < 40; i++) {
                    writeChunk(out, chunk);
                }
            } catch (java.io.IOException closedByServer) {
                // the server may close the connection as soon as it answered
            }
            assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 413");
        }
        assertThat(api.cmd(id, "ls").get("output").asText()).doesNotContain("big");
    }

    @Test
    void aLongCommandInOneWorkspaceDoesNotBlockAnother() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String a = api.create("{}");
        String b = api.create("{}");
        CompletableFuture<JsonNode> slow = CompletableFuture.supplyAsync(() -> api.cmd(a, "sleep 10; echo slow"));
        Thread.sleep(300);
        long start = System.nanoTime();
        assertThat(api.cmd(b, "echo fast").get("output").asText()).isEqualTo("fast\n");
        assertThat(api.cmd(a, "echo also-fast").get("output").asText()).isEqualTo("also-fast\n");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(7));
        assertThat(slow.isDone()).isFalse();
        assertThat(slow.get(30, TimeUnit.SECONDS).get("output").asText()).isEqualTo("slow\n");
    }

    @Test
    void unknownAndMalformedRequestsGetJsonErrors() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String id = api.create("{}");
        for (String path : new String[] {"//workspaces", "/workspaces//cmd",
                "/workspaces/" + id + "//cmd", "/workspaces/" + id + "/nope"}) {
            String head = raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(head).as(path).startsWith("HTTP/1.1 404").contains("application/json")
                    .contains("\"error\":\"not_found\"");
        }
        // ids are matched, never resolved: an encoded traversal is just an unknown workspace
        assertThat(raw("POST /workspaces/..%2F..%2Fetc/cmd HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                + "Connection: close\r\n\r\n{}")).startsWith("HTTP/1.1 404").contains("workspace_not_found");
        // what Jetty rejects before routing is JSON too, never HTML
        for (String request : new String[] {"GARBAGE\r\n\r\n", "GET /%2e%2e/workspaces HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /x%00y HTTP/1.1\r\nHost: x\r\n\r\n", "DELETE /workspaces/%C0%AF HTTP/1.1\r\nHost: x\r\n\r\n",
                "PUT /%2e%2e HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                "POST /workspaces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
            String head = raw(request);
            assertThat(head).as(request.substring(0, Math.min(40, request.length())))
                    .matches("(?s)HTTP/1.1 4\\d\\d .*").contains("application/json").contains("\"error\":")
                    .doesNotContainIgnoringCase("<html");
        }
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
    }

    @Test
    void badInputsAre400sNamingTheField() throws Exception {
        ApiClient api = start(null, HttpApiServer.DEFAULT_MAX_BODY_BYTES);
        String id = api.create("{}");
        String cmd = "/workspaces/" + id + "/cmd_with_output";
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"timeout\":1e308}"), 400, "invalid_request", "'timeout'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"timeout\":9223372036854775808}"), 400, "invalid_request", "'timeout'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"timeout\":-1}"), 400, "invalid_request", "'timeout'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"timeout\":\"5\"}"), 400, "invalid_request", "'timeout'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"echo a\\u0000b\"}"), 400, "invalid_request", "'cmd'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"env\":{\"A\":\"x\\u0000\"}}"), 400, "invalid_request", "'env'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\",\"working_dir\":\"a\\u0000\"}"), 400, "invalid_request", "working");
        assertError(api.send("POST", cmd, "{\"cmd\":5}"), 400, "invalid_request", "'cmd'");
        assertError(api.send("POST", cmd, "{\"cmd\":true}"), 400, "invalid_request", "'cmd'");
        assertError(api.send("POST", cmd, "{\"cmd\":\"true\"} xyz"), 400, "invalid_request", "malformed");
        assertError(api.send("POST", cmd, "[]"), 400, "invalid_request", "wrong type");
        String name = "n".repeat(300);
        assertError(api.send("POST", "/workspaces/" + id + "/write_file", "{\"path\":\"" + name + "\",\"content\":\"\"}"),
                400, "invalid_request", "255");
        assertError(api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\":\"" + "d/".repeat(2100) + "\"}"),
                400, "invalid_request", "4095");
        assertError(api.send("POST", "/workspaces/" + id + "/list_files", "{\"path\":\"a\\u0000\"}"), 400, "invalid_request", "NUL");
        // invalid and overlong UTF-8: C0 AF would be '/' to a lenient decoder
        byte[] overlong = "{\"path\":\"..\u00c0\u00af..\u00c0\u00afetc/passwd\"}".getBytes(StandardCharsets.ISO_8859_1);
        assertError(api.sendWith("POST", "/workspaces/" + id + "/read_file",
                java.net.http.HttpRequest.BodyPublishers.ofByteArray(overlong)), 400, "invalid_request", "UTF-8");
        byte[] invalid = "{\"cmd\":\"echo \u00ff\"}".getBytes(StandardCharsets.ISO_8859_1);
        assertError(api.sendWith("POST", cmd, java.net.http.HttpRequest.BodyPublishers.ofByteArray(invalid)), 400,
                "invalid_request", "UTF-8");
        // configs: wrong types and trailing garbage
        assertError(api.send("POST", "/workspaces", "{\"config\":{\"name\":5}}"), 400, "invalid_request", "name");
        assertError(api.send("POST", "/workspaces", "{\"config\":{\"name\":\"x\"}} {}"), 400, "invalid_request", "malformed");
        assertError(api.send("POST", "/workspaces", "{\"config\":{\"name\":\"x\",\"setup_script\":[1]}}"), 400,
                "invalid_request", "setup_script");
        assertThat(api.cmd(id, "echo still-fine").get("output").asText()).isEqualTo("still-fine\n");
    }

    @Test
    void aMountedServletIsServedBehindTheSameTokenAndLimit() throws Exception {
        WorkspaceConfig config = WorkspaceConfig.builder("t").build();
        operations = new Operations(WorkspaceProviders.open("testdir"), config, new Redactor());
        jakarta.servlet.http.HttpServlet echo = new jakarta.servlet.http.HttpServlet() {
            @Override
            protected void service(jakarta.servlet.http.HttpServletRequest req, jakarta.servlet.http.HttpServletResponse resp)
                    throws java.io.IOException {
                resp.setContentType("text/plain");
                resp.getWriter().print("mounted " + req.getMethod() + " " + req.getRequestURI());
            }
        };
        server = HttpApiServer.builder(operations).port(0).apiToken("t0ken").maxBodyBytes(1000).mount("/mcp", echo).start();
        ApiClient api = new ApiClient(server.uri(), "t0ken");
        HttpResponse<byte[]> ok = api.send("POST", "/mcp", "{}");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(new String(ok.body(), StandardCharsets.UTF_8)).isEqualTo("mounted POST /mcp");
        assertError(api.withToken(null).send("POST", "/mcp", "{}"), 401, "unauthorized", "Bearer");
        assertError(api.send("POST", "/mcp", "x".repeat(2000)), 413, "payload_too_large", "1000");
        // the API routes are untouched, and /mcpx is not the mount
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
        assertError(api.send("GET", "/mcpx", null), 404, "not_found", "/mcpx");
    }

    /** Sends {@code request} as is on a fresh connection; everything the server answers until it closes. */
    private String raw(String request) throws java.io.IOException {
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            try {
                socket.getInputStream().transferTo(got);
            } catch (java.net.SocketException reset) {
                // what arrived before the reset is the answer
            }
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    private static void writeChunk(OutputStream out, byte[] data) throws java.io.IOException {
        out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String readHead(InputStream in) throws java.io.IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            sb.append((char) c);
            if (sb.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        return sb.toString();
    }

    static void assertError(HttpResponse<byte[]> response, int status, String code, String messagePart) {
        String body = new String(response.body(), StandardCharsets.UTF_8);
        assertThat(response.statusCode()).as(body).isEqualTo(status);
        JsonNode json = ApiClient.json(response);
        assertThat(json.get("error").asText()).as(body).isEqualTo(code);
        assertThat(json.get("message").asText()).as(body).contains(messagePart);
    }
}
