package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.server.internal.http.HttpApiServer;
import dev.derrick.server.internal.http.Route;
import org.junit.jupiter.api.Test;

import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Every route the server registers is in openapi.json, and every operation there is a route. */
class RoutesMatchOpenApiTest {
    private static final Set<String> METHODS = Set.of("get", "post", "put", "delete", "patch", "head", "options");

    @Test
    void openApiDocumentListsExactlyTheRegisteredRoutes() throws Exception {
        JsonNode doc = ApiClient.JSON.readTree(HttpApiServer.openApiDocument());
        assertThat(doc.get("openapi").asText()).startsWith("3.");
        Set<String> documented = new TreeSet<>();
        for (Iterator<String> paths = doc.get("paths").fieldNames(); paths.hasNext(); ) {
            String path = paths.next();
            for (Iterator<String> keys = doc.get("paths").get(path).fieldNames(); keys.hasNext(); ) {
                String key = keys.next();
                if (METHODS.contains(key)) {
                    documented.add(key.toUpperCase(Locale.ROOT) + " " + path);
                }
            }
        }
        Set<String> registered = new TreeSet<>();
        for (Route r : Route.ALL) {
            registered.add(r.method() + " " + r.template());
        }
        // mounted next to the routes: MCP's streamable HTTP transport
        for (String method : dev.derrick.server.internal.mcp.McpHttp.METHODS) {
            registered.add(method + " " + dev.derrick.server.internal.mcp.McpHttp.PATH);
        }
        assertThat(documented).isEqualTo(registered);
    }

    @Test
    void everySchemaReferenceResolves() throws Exception {
        JsonNode doc = ApiClient.JSON.readTree(HttpApiServer.openApiDocument());
        Set<String> refs = new TreeSet<>();
        collectRefs(doc, refs);
        assertThat(refs).isNotEmpty();
        for (String ref : refs) {
            assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
        }
    }

    private static void collectRefs(JsonNode node, Set<String> refs) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("$ref")) {
                    refs.add(e.getValue().asText());
                } else {
                    collectRefs(e.getValue(), refs);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collectRefs(n, refs));
        }
    }
}
