package dev.derrick.server.mcp;

/** The agent loop over {@code /mcp} against {@code -p local}. */
class McpHttpLocalIT extends McpHttpContract {
    @Override
    protected String provider() {
        return "local";
    }
}
