package dev.derrick.server.mcp;

import java.util.Map;

/** The agent loop over stdio against {@code -p docker}, on the Debian test image (it has git, which diff needs). */
class McpStdioDockerIT extends McpStdioContract {
    @Override
    protected String provider() {
        return "docker";
    }

    @Override
    protected Map<String, Object> configExtras() {
        return Map.of("image", System.getenv().getOrDefault("DERRICK_DEBIAN_IMAGE", "derrick-test/debian:bookworm-git"));
    }
}
